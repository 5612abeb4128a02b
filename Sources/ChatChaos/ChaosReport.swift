import Foundation

/// The end result of a run: what was set up, what happened and what the checker found. Printed as
/// a human table and/or one JSON line (`--json`); the field names of the JSON are its contract
/// (tests/chaos reads them).
struct ChaosReport: Sendable, Codable {
    /// Violation lines per kind in the JSON line and the table; all of them go to `violations_file`.
    static let detailsPerKind = 25

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
        /// `loopback`, `hosts` (network namespaces) or `existing`.
        var placement = "loopback"
        /// The fault kinds of the schedule.
        var faultKinds: [String] = FaultKind.processKinds.map(\.rawValue)
        var historyLimit = 0
        var liveGraceSeconds = 0.0
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
    var deliveredLive: Int
    var inHistory: Int
    var reconnects: Int
    var errorsByCode: [String: Int]
    /// The headline counters (each must be 0): lost acked messages, duplicates (live re-deliveries
    /// plus messages or ids under two seqs), order regressions, gaps on live connections.
    var lostAcked: Int
    var duplicates: Int
    var orderViolations: Int
    var gapsOnLiveConnections: Int
    /// Count per violation kind (every kind, zeros included).
    var violations: [String: Int]
    /// Fault kind before the violation (`none`: before the first fault) -> violation kind -> count.
    var violationsByFault: [String: [String: Int]]
    var violationTotal: Int
    var faultsPlanned: Int
    var faultsInjected: [String: Int]
    var perKind: [String: KindSummary]
    var faults: [FaultTiming]
    /// Up to `detailsPerKind` violation lines per kind, in time order.
    var details: [String: [String]]
    /// Every violation line (set by the runner when it wrote them; nil otherwise).
    var violationsFile: String?
    var passed: Bool

    enum CodingKeys: String, CodingKey {
        case setup, sent, attempts, acked, delivered, reconnects, violations, faults, details, passed
        case elapsedSeconds = "elapsed_s"
        case deliveredLive = "delivered_live"
        case inHistory = "in_history"
        case errorsByCode = "errors"
        case lostAcked = "lost_acked"
        case duplicates
        case orderViolations = "order_violations"
        case gapsOnLiveConnections = "gaps_on_live_connections"
        case violationsByFault = "violations_by_fault"
        case violationTotal = "violation_total"
        case faultsPlanned = "faults_planned"
        case faultsInjected = "faults_injected"
        case perKind = "per_kind"
        case violationsFile = "violations_file"
    }

    /// `kinds`: the fault kinds of the schedule (the report lists those).
    init(setup: Setup, elapsed: Double, planned: Int, outcomes: [FaultOutcome], result: CheckResult, kinds: [FaultKind]) {
        self.setup = setup
        elapsedSeconds = (elapsed * 10).rounded() / 10
        let counters = result.counters
        sent = counters.sent
        attempts = counters.attempts
        acked = counters.acked
        delivered = counters.delivered
        deliveredLive = counters.deliveredLive
        inHistory = counters.inHistory
        reconnects = counters.reconnects
        errorsByCode = counters.errorsByCode
        let tally = result.tally
        lostAcked = tally[.lostAcked]
        duplicates = tally[.duplicate] + tally[.idTwoSeqs] + tally[.messageTwoSeqs]
        orderViolations = tally[.orderViolation]
        gapsOnLiveConnections = tally[.gapOnLiveConnection]
        violations = Dictionary(uniqueKeysWithValues: tally.counts.map { ($0.key.rawValue, $0.value) })
        violationsByFault = tally.byFaultKind
        violationTotal = tally.total
        faultsPlanned = planned
        faultsInjected = Dictionary(
            uniqueKeysWithValues: kinds.map { kind in (kind.rawValue, outcomes.filter { $0.fault.kind == kind }.count) })
        perKind = Dictionary(
            uniqueKeysWithValues: kinds.map { kind in
                let timings = result.faults.filter { $0.kind == kind }
                return (
                    kind.rawValue,
                    KindSummary(
                        injected: timings.count, accept: DurationSummary(timings.map(\.acceptAfter)),
                        presence: DurationSummary(kind.takesNodeOut ? timings.map(\.presenceAfter) : []),
                        recovery: DurationSummary(timings.map(\.recoveredAfter)))
                )
            })
        faults = result.faults
        var details: [String: [String]] = [:]
        for violation in tally.sorted where details[violation.kind.rawValue, default: []].count < Self.detailsPerKind {
            details[violation.kind.rawValue, default: []].append(violation.line)
        }
        self.details = details
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
        lines.append(
            "chat-chaos: \(setup.nodes) nodes (\(setup.placement)), \(setup.clients) clients, \(setup.rooms) rooms, seed \(setup.seed), "
                + "\(format(elapsedSeconds)) s, history \(setup.history)")
        lines.append(
            "messages: sent \(sent) (attempts \(attempts)), acked \(acked), delivered \(delivered) (live \(deliveredLive)), "
                + "in history \(inHistory)")
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
        lines.append(pad("violation", 26) + "count")
        for kind in ViolationKind.allCases {
            let count = violations[kind.rawValue] ?? 0
            lines.append(pad(kind.rawValue, 26) + "\(count)" + (count > 0 ? "   <-- VIOLATION" : ""))
        }
        lines.append("")
        lines.append(contentsOf: faultTable)
        for kind in ViolationKind.allCases {
            let shown = details[kind.rawValue] ?? []
            lines.append(contentsOf: shown.map { "  " + $0 })
            let total = violations[kind.rawValue] ?? 0
            if shown.count == Self.detailsPerKind, total > shown.count { lines.append("  \(kind.rawValue): … see the violations file") }
        }
        if let violationsFile, violationTotal > 0 { lines.append("every violation: \(violationsFile)") }
        lines.append("")
        lines.append(passed ? "PASS: every invariant held" : "FAIL: \(violationTotal) violations")
        return lines.joined(separator: "\n")
    }

    /// Violations by the kind of the fault before them: one row per fault kind of the schedule
    /// (and `none`), one column per violation kind that occurred.
    var faultTable: [String] {
        let rows = [ViolationTally.noFault] + FaultKind.allCases.map(\.rawValue).filter { perKind[$0] != nil }
        let columns = ViolationKind.allCases.map(\.rawValue).filter { (violations[$0] ?? 0) > 0 }
        var lines = ["violations by the fault before them:"]
        lines.append(pad("after", 11) + pad("total", 7) + columns.map { pad($0, $0.count + 2) }.joined())
        for row in rows {
            let counts = violationsByFault[row] ?? [:]
            let total = counts.values.reduce(0, +)
            lines.append(pad(row, 11) + pad("\(total)", 7) + columns.map { pad("\(counts[$0] ?? 0)", $0.count + 2) }.joined())
        }
        lines.append("")
        return lines
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
