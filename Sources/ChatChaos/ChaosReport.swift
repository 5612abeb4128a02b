import Foundation

/// The end result of a run: what was set up, what happened and what the checker found. Printed as
/// a human table and/or one JSON line (`--json`); the field names of the JSON are its contract
/// (tests/chaos reads them).
struct ChaosReport: Sendable, Codable {
    struct Setup: Sendable, Codable {
        var nodes: Int
        var clients: Int
        var rooms: Int
        var durationSeconds: Double
        var seed: UInt64
        var faultsPerKind: Int
        var history: String
        var nodeBinary: String
        var workDir: String
        var faultsPossible: Bool
    }

    struct KindSummary: Sendable, Codable {
        var injected: Int
        var accept: DurationSummary
        var presence: DurationSummary
        var recovery: DurationSummary
    }

    var setup: Setup
    var elapsedSeconds: Double
    var sent: Int
    var attempts: Int
    var acked: Int
    var delivered: Int
    var inHistory: Int
    var reconnects: Int
    var errorsByCode: [String: Int]
    /// The three headline counters (each must be 0).
    var lostAcked: Int
    var duplicates: Int
    var orderViolations: Int
    var violations: [String: Int]
    var violationTotal: Int
    var faultsPlanned: Int
    var faultsInjected: [String: Int]
    var perKind: [String: KindSummary]
    var faults: [FaultTiming]
    var examples: [String: [String]]
    var passed: Bool

    enum CodingKeys: String, CodingKey {
        case setup, sent, attempts, acked, delivered, reconnects, violations, faults, examples, passed
        case elapsedSeconds = "elapsed_s"
        case inHistory = "in_history"
        case errorsByCode = "errors"
        case lostAcked = "lost_acked"
        case duplicates
        case orderViolations = "order_violations"
        case violationTotal = "violation_total"
        case faultsPlanned = "faults_planned"
        case faultsInjected = "faults_injected"
        case perKind = "per_kind"
    }

    init(setup: Setup, elapsed: Double, planned: Int, outcomes: [FaultOutcome], result: CheckResult) {
        self.setup = setup
        elapsedSeconds = (elapsed * 10).rounded() / 10
        let counters = result.counters
        sent = counters.sent
        attempts = counters.attempts
        acked = counters.acked
        delivered = counters.delivered
        inHistory = counters.inHistory
        reconnects = counters.reconnects
        errorsByCode = counters.errorsByCode
        let tally = result.tally
        lostAcked = tally[.lostAcked]
        duplicates = tally[.duplicate] + tally[.idUnderTwoSeqs]
        orderViolations = tally[.orderViolation]
        violations = Dictionary(uniqueKeysWithValues: ViolationKind.allCases.map { ($0.rawValue, tally[$0]) })
        violationTotal = tally.total
        faultsPlanned = planned
        faultsInjected = Dictionary(
            uniqueKeysWithValues: FaultKind.allCases.map { kind in
                (kind.rawValue, outcomes.filter { $0.fault.kind == kind }.count)
            })
        perKind = Dictionary(
            uniqueKeysWithValues: FaultKind.allCases.map { kind in
                let timings = result.faults.filter { $0.kind == kind }
                return (
                    kind.rawValue,
                    KindSummary(
                        injected: timings.count, accept: DurationSummary(timings.map(\.acceptAfter)),
                        presence: DurationSummary(timings.map(\.presenceAfter)),
                        recovery: DurationSummary(timings.map(\.recoveredAfter)))
                )
            })
        faults = result.faults
        examples = Dictionary(uniqueKeysWithValues: tally.examples.map { ($0.key.rawValue, $0.value) })
        passed = result.passed
    }

    /// One line of JSON (sorted keys).
    var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The report for a person.
    var table: String {
        var lines: [String] = []
        let history = setup.history
        lines.append(
            "chat-chaos: \(setup.nodes) nodes, \(setup.clients) clients, \(setup.rooms) rooms, seed \(setup.seed), "
                + "\(format(elapsedSeconds)) s, history \(history)")
        lines.append("messages: sent \(sent) (attempts \(attempts)), acked \(acked), delivered \(delivered), in history \(inHistory)")
        lines.append(
            "reconnects \(reconnects); errors \(errorsByCode.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
        )
        lines.append("")
        lines.append(
            pad("fault kind", 11) + pad("injected", 10) + pad("accept med/worst s", 20) + pad("presence med/worst s", 22)
                + "ready again med/worst s")
        for kind in FaultKind.allCases {
            guard let summary = perKind[kind.rawValue] else { continue }
            lines.append(
                pad(kind.rawValue, 11) + pad("\(summary.injected)", 10) + pad(describe(summary.accept), 20)
                    + pad(describe(summary.presence), 22) + describe(summary.recovery))
        }
        if !setup.faultsPossible { lines.append("(no faults: --urls runs against a cluster this tool did not start)") }
        lines.append("")
        lines.append(pad("violation", 22) + "count")
        for kind in ViolationKind.allCases {
            let count = violations[kind.rawValue] ?? 0
            lines.append(pad(kind.rawValue, 22) + "\(count)" + (count > 0 ? "   <-- VIOLATION" : ""))
        }
        for kind in ViolationKind.allCases {
            for example in examples[kind.rawValue] ?? [] { lines.append("  \(kind.rawValue): \(example)") }
        }
        lines.append("")
        lines.append(passed ? "PASS: every invariant held" : "FAIL: \(violationTotal) violations")
        return lines.joined(separator: "\n")
    }

    private func describe(_ summary: DurationSummary) -> String {
        guard let median = summary.median, let worst = summary.worst else {
            return summary.missing > 0 ? "never (\(summary.missing))" : "-"
        }
        return "\(format(median)) / \(format(worst))" + (summary.missing > 0 ? " +\(summary.missing) never" : "")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
