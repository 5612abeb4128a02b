/// What the idle scenario measured on one target.
struct IdleResult: Sendable {
    /// One node process (or the broadcast server).
    struct Node: Sendable {
        var endpoint: String
        var pid: Int32?
        var connections: Int
        var rssBeforeKilobytes: Int?
        var rssAfterKilobytes: Int?

        /// Resident memory gained per connection, in KiB.
        var kilobytesPerConnection: Double? {
            guard let before = rssBeforeKilobytes, let after = rssAfterKilobytes, connections > 0 else { return nil }
            return Double(after - before) / Double(connections)
        }
    }

    var target: String
    var connections: Int
    var rooms: Int
    var setupSeconds: Double
    var holdSeconds: Double
    var nodes: [Node]
    /// Resident memory the benchmark process gained for all its connections, in KiB.
    var clientKilobytes: Int?
    var verdict: DeliveryChecker.Verdict
    var errors: Int
    var firstError: String?
    var unexpectedCloses: Int
    var drainTimedOut: Bool

    /// The mean over the nodes of the memory per connection (each node weighted by its connections).
    var nodeKilobytesPerConnection: Double? {
        let measured = nodes.filter { $0.kilobytesPerConnection != nil }
        guard !measured.isEmpty else { return nil }
        let gained = measured.reduce(0) { $0 + ($1.rssAfterKilobytes! - $1.rssBeforeKilobytes!) }
        return Double(gained) / Double(measured.reduce(0) { $0 + $1.connections })
    }

    var failures: [String] {
        var reasons: [String] = []
        if verdict.lost > 0 { reasons.append("\(verdict.lost) lost") }
        if verdict.duplicates > 0 { reasons.append("\(verdict.duplicates) duplicated") }
        if verdict.outOfOrder > 0 { reasons.append("\(verdict.outOfOrder) out of order") }
        if verdict.inconsistent > 0 { reasons.append("\(verdict.inconsistent) inconsistent seqs") }
        if verdict.unexpected > 0 { reasons.append("\(verdict.unexpected) unexpected messages") }
        if verdict.unacked > 0 { reasons.append("\(verdict.unacked) never acked") }
        if errors > 0 { reasons.append("\(errors) error frames (first: \(firstError ?? "?"))") }
        if unexpectedCloses > 0 { reasons.append("\(unexpectedCloses) connections closed by the server") }
        if verdict.delivered == 0 { reasons.append("nothing delivered") }
        return reasons
    }

    var ok: Bool { failures.isEmpty }

    var json: BenchJSON {
        .object([
            ("target", .string(target)), ("connections", .int(connections)), ("rooms", .int(rooms)),
            ("setup_s", .number(setupSeconds)), ("hold_s", .number(holdSeconds)),
            ("kib_per_connection", nodeKilobytesPerConnection.map { .number($0) } ?? .null),
            (
                "processes",
                .array(
                    nodes.map { node in
                        .object([
                            ("endpoint", .string(node.endpoint)), ("pid", node.pid.map { .int(Int($0)) } ?? .null),
                            ("connections", .int(node.connections)),
                            ("rss_before_kib", node.rssBeforeKilobytes.map { .int($0) } ?? .null),
                            ("rss_after_kib", node.rssAfterKilobytes.map { .int($0) } ?? .null),
                            ("kib_per_connection", node.kilobytesPerConnection.map { .number($0) } ?? .null),
                        ])
                    })
            ),
            ("client_kib_per_connection", clientKilobytes.map { .number(Double($0) / Double(max(1, connections))) } ?? .null),
            ("sent", .int(verdict.sent)), ("acked", .int(verdict.acked)), ("unacked", .int(verdict.unacked)),
            ("expected_deliveries", .int(verdict.expectedDeliveries)), ("delivered", .int(verdict.delivered)),
            ("lost", .int(verdict.lost)), ("duplicates", .int(verdict.duplicates)), ("out_of_order", .int(verdict.outOfOrder)),
            ("inconsistent", .int(verdict.inconsistent)), ("unexpected", .int(verdict.unexpected)),
            ("errors", .int(errors)), ("first_error", firstError.map { .string($0) } ?? .null),
            ("unexpected_closes", .int(unexpectedCloses)), ("drain_timed_out", .bool(drainTimedOut)),
            ("ok", .bool(ok)), ("failures", .array(failures.map { .string($0) })),
        ])
    }

    static func table(_ results: [IdleResult]) -> String {
        var table = TextTable(["target", "process", "pid", "connections", "RSS before (MiB)", "RSS after (MiB)", "KiB / connection"])
        for result in results {
            for node in result.nodes {
                table.add([
                    result.target, node.endpoint, node.pid.map { String($0) } ?? "-", TextTable.grouped(node.connections),
                    node.rssBeforeKilobytes.map { TextTable.fixed(Double($0) / 1024, 1) } ?? "-",
                    node.rssAfterKilobytes.map { TextTable.fixed(Double($0) / 1024, 1) } ?? "-",
                    node.kilobytesPerConnection.map { TextTable.fixed($0, 2) } ?? "-",
                ])
            }
        }
        var lines = [table.rendered]
        for result in results {
            let client = result.clientKilobytes.map { TextTable.fixed(Double($0) / Double(max(1, result.connections)), 2) } ?? "-"
            lines.append(
                "\(result.target): set-up \(TextTable.fixed(result.setupSeconds)) s, client \(client) KiB/connection; check: "
                    + (result.ok ? "ok (\(result.verdict.delivered) deliveries)" : "FAILED: " + result.failures.joined(separator: ", ")))
        }
        return lines.joined(separator: "\n")
    }
}
