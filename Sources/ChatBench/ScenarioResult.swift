/// What one fan-out or latency run measured and checked.
struct ScenarioResult: Sendable {
    enum Scenario: String, Sendable {
        case fanout
        case latency
    }

    var scenario: Scenario
    /// `nodes` for chat-node, `broadcast` for the limit server.
    var target: String
    var endpoints: [String]
    var shape: RunShape
    var textBytes: Int
    /// The fixed total send rate (latency scenario), nil when senders go as fast as acks allow.
    var requestedRate: Double?
    var inFlight: Int
    /// Seconds from the first send to the end of the send phase.
    var window: Double
    var setupSeconds: Double
    var ackedInWindow: Int
    var deliveredInWindow: Int
    var verdict: DeliveryChecker.Verdict
    var errors: Int
    var firstError: String?
    var unexpectedCloses: Int
    var drainTimedOut: Bool
    var endToEnd: LatencySummary
    var ack: LatencySummary
    /// How late sends left compared with their schedule (fixed rate only): the load tool's own lag.
    var sendLag: LatencySummary
    /// CPU seconds during the send phase: of this process, and of the target's processes (nil
    /// when their PIDs are unknown: pass `--pid`).
    var clientCPU: Double?
    var serverCPU: Double?

    var sendsPerSecond: Double { window > 0 ? Double(ackedInWindow) / window : 0 }
    var deliveredPerSecond: Double { window > 0 ? Double(deliveredInWindow) / window : 0 }

    /// CPU microseconds per delivery in the send phase.
    func perDelivery(_ cpu: Double?) -> Double? {
        guard let cpu, deliveredInWindow > 0 else { return nil }
        return cpu * 1e6 / Double(deliveredInWindow)
    }

    /// Why the run is not a correct one (empty when it is).
    var failures: [String] {
        var reasons: [String] = []
        let v = verdict
        if v.lost > 0 { reasons.append("\(v.lost) lost") }
        if v.duplicates > 0 { reasons.append("\(v.duplicates) duplicated") }
        if v.outOfOrder > 0 { reasons.append("\(v.outOfOrder) out of order") }
        if v.inconsistent > 0 { reasons.append("\(v.inconsistent) inconsistent seqs") }
        if v.unexpected > 0 { reasons.append("\(v.unexpected) unexpected messages") }
        if v.unacked > 0 { reasons.append("\(v.unacked) never acked") }
        if errors > 0 { reasons.append("\(errors) error frames (first: \(firstError ?? "?"))") }
        if unexpectedCloses > 0 { reasons.append("\(unexpectedCloses) connections closed by the server") }
        if v.delivered == 0 { reasons.append("nothing delivered") }
        return reasons
    }

    var ok: Bool { failures.isEmpty }

    var json: BenchJSON {
        var fields: [(String, BenchJSON)] = [
            ("scenario", .string(scenario.rawValue)), ("target", .string(target)),
            ("endpoints", .array(endpoints.map { .string($0) })),
            ("rooms", .int(shape.rooms)), ("members", .int(shape.members)), ("senders_per_room", .int(shape.sendersPerRoom)),
            ("connections", .int(shape.connectionCount)), ("text_bytes", .int(textBytes)),
            ("rate", requestedRate.map { .number($0) } ?? .null), ("in_flight", .int(inFlight)),
            ("window_s", .number(window)), ("setup_s", .number(setupSeconds)),
            ("sends_per_s", .number(sendsPerSecond)), ("delivered_per_s", .number(deliveredPerSecond)),
        ]
        let v = verdict
        fields += [
            ("sent", .int(v.sent)), ("acked", .int(v.acked)), ("unacked", .int(v.unacked)),
            ("expected_deliveries", .int(v.expectedDeliveries)), ("delivered", .int(v.delivered)),
            ("lost", .int(v.lost)), ("duplicates", .int(v.duplicates)), ("out_of_order", .int(v.outOfOrder)),
            ("inconsistent", .int(v.inconsistent)), ("unexpected", .int(v.unexpected)),
            ("errors", .int(errors)), ("first_error", firstError.map { .string($0) } ?? .null),
            ("unexpected_closes", .int(unexpectedCloses)), ("drain_timed_out", .bool(drainTimedOut)),
            ("client_cpu_s", clientCPU.map { .number($0) } ?? .null), ("server_cpu_s", serverCPU.map { .number($0) } ?? .null),
            ("server_cpu_us_per_delivery", perDelivery(serverCPU).map { .number($0) } ?? .null),
            ("client_cpu_us_per_delivery", perDelivery(clientCPU).map { .number($0) } ?? .null),
            ("e2e_ms", endToEnd.json), ("ack_ms", ack.json), ("send_lag_ms", sendLag.json),
            ("ok", .bool(ok)), ("failures", .array(failures.map { .string($0) })),
        ]
        return .object(fields)
    }

    /// The human table: one column per result (the product, then the limit server), one row per figure.
    static func table(_ results: [ScenarioResult]) -> String {
        var table = TextTable(["figure"] + results.map(\.target))
        func row(_ name: String, _ cell: (ScenarioResult) -> String) { table.add([name] + results.map(cell)) }
        row("endpoints") { "\($0.endpoints.count)" }
        row("connections") { TextTable.grouped($0.shape.connectionCount) }
        row("rate (sends/s)") { $0.requestedRate.map { TextTable.fixed($0, 0) } ?? "as acks allow (\($0.inFlight) in flight)" }
        row("window (s)") { TextTable.fixed($0.window) }
        row("sends/s (acked)") { TextTable.fixed($0.sendsPerSecond, 0) }
        row("delivered/s") { TextTable.fixed($0.deliveredPerSecond, 0) }
        row("e2e p50 / p99 / p99.9 (ms)") {
            "\(TextTable.fixed($0.endToEnd.p50)) / \(TextTable.fixed($0.endToEnd.p99)) / \(TextTable.fixed($0.endToEnd.p999))"
        }
        row("e2e max (ms)") { TextTable.fixed($0.endToEnd.max) }
        row("ack p50 / p99 / p99.9 (ms)") {
            "\(TextTable.fixed($0.ack.p50)) / \(TextTable.fixed($0.ack.p99)) / \(TextTable.fixed($0.ack.p999))"
        }
        if results.contains(where: { $0.requestedRate != nil }) {
            row("send lag p99 / max (ms)") { "\(TextTable.fixed($0.sendLag.p99)) / \(TextTable.fixed($0.sendLag.max))" }
        }
        row("CPU s server / client") {
            "\($0.serverCPU.map { TextTable.fixed($0) } ?? "-") / \($0.clientCPU.map { TextTable.fixed($0) } ?? "-")"
        }
        row("CPU us/delivery server / client") {
            "\($0.perDelivery($0.serverCPU).map { TextTable.fixed($0) } ?? "-") / \($0.perDelivery($0.clientCPU).map { TextTable.fixed($0) } ?? "-")"
        }
        row("sent / acked") { "\(TextTable.grouped($0.verdict.sent)) / \(TextTable.grouped($0.verdict.acked))" }
        row("delivered / expected") { "\(TextTable.grouped($0.verdict.delivered)) / \(TextTable.grouped($0.verdict.expectedDeliveries))" }
        row("lost / dup / out-of-order") { "\($0.verdict.lost) / \($0.verdict.duplicates) / \($0.verdict.outOfOrder)" }
        row("inconsistent / unexpected") { "\($0.verdict.inconsistent) / \($0.verdict.unexpected)" }
        row("errors / closes") { "\($0.errors) / \($0.unexpectedCloses)" }
        row("check") { $0.ok ? "ok" : "FAILED: " + $0.failures.joined(separator: ", ") }
        return table.rendered
    }
}
