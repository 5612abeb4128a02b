/// The steps of one `--find-max` search on one target, and the sustained rate it found.
struct FindMaxReport: Sendable {
    struct Step: Sendable {
        var result: ScenarioResult
        var passed: Bool
    }

    var target: String
    var targetP99: Double
    var steps: [Step]
    /// The highest passing rate, nil if no step passed.
    var best: Double?

    var table: String {
        var table = TextTable([
            "\(target): rate", "sends/s", "delivered/s", "e2e p50", "p99", "p99.9", "ack p99", "lag p99", "check",
            "p99 < \(TextTable.fixed(targetP99, 0)) ms",
        ])
        for step in steps {
            let r = step.result
            table.add([
                TextTable.fixed(r.requestedRate ?? 0, 0), TextTable.fixed(r.sendsPerSecond, 0), TextTable.fixed(r.deliveredPerSecond, 0),
                TextTable.fixed(r.endToEnd.p50), TextTable.fixed(r.endToEnd.p99), TextTable.fixed(r.endToEnd.p999),
                TextTable.fixed(r.ack.p99), TextTable.fixed(r.sendLag.p99), r.ok ? "ok" : "FAILED", step.passed ? "pass" : "fail",
            ])
        }
        return table.rendered + "\n\(target): sustained rate "
            + (best.map { TextTable.fixed($0, 0) + " sends/s" } ?? "none (no step passed)")
    }

    var json: BenchJSON {
        .object([
            ("max_rate", best.map { .number($0) } ?? .null),
            ("steps", .array(steps.map { step in .object([("passed", .bool(step.passed)), ("run", step.result.json)]) })),
        ])
    }
}
