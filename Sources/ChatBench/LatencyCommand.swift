import ArgumentParser

/// `chat-bench latency`: a fixed total send rate; reports end-to-end and ack latency. With
/// `--find-max`, steps the rate to find the highest at which p99 end-to-end stays under a target.
struct LatencyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency",
        abstract: "The fan-out shape at a fixed total send rate: e2e p50/p99/p99.9 and ack latency (or --find-max).")

    @OptionGroup var load: LoadOptions

    @Option(help: "Total sends per second over all senders (with --find-max: the first step).")
    var rate: Double = 200

    @Option(
        name: .customLong("in-flight"),
        help: "Unacknowledged sends a sender may have before it waits (the wait counts as latency).")
    var inFlight = 10_000

    @Flag(name: .customLong("find-max"), help: "Step the rate up, then bisect, to the highest rate with p99 e2e under --target-p99.")
    var findMax = false

    @Option(name: .customLong("target-p99"), help: "--find-max: the p99 end-to-end target, in ms.")
    var targetP99: Double = 50

    @Option(name: .customLong("max-rate"), help: "--find-max: the highest rate tried.")
    var maxRate: Double = 200_000

    @Option(help: "--find-max: factor between steps before the first failing one.")
    var growth: Double = 2

    @Option(name: .customLong("max-steps"), help: "--find-max: most steps per target.")
    var maxSteps = 12

    @Option(help: "--find-max: stop when the passing and failing rates are this fraction apart.")
    var resolution: Double = 0.05

    func validate() throws {
        guard inFlight >= 1 else { throw ValidationError("--in-flight must be at least 1") }
        guard targetP99 > 0 else { throw ValidationError("--target-p99 must be positive") }
    }

    func run() async throws {
        let settings = try load.settings()
        guard settings.sendersPerRoom >= 1 else { throw ValidationError("the latency scenario needs --senders of at least 1") }
        if findMax {
            try await runSearch(settings)
            return
        }
        let results = try await Target.each(settings, nodePIDs: load.pids, broadcastThreads: load.broadcastThreads) { target in
            try await runStep(settings, target: target, rate: rate)
        }
        FanoutCommand.emit(results, jsonOnly: load.json) { $0.endToEnd.p99 }
        if results.contains(where: { !$0.ok }) { throw ExitCode(1) }
    }

    private func runStep(_ settings: LoadSettings, target: Target, rate: Double) async throws -> ScenarioResult {
        let shape = try settings.shape(endpointCount: target.endpoints.count)
        let schedule = try RateSchedule(totalRate: rate, senderCount: shape.senderCount)
        let plan = try settings.plan(mode: .fixedRate(schedule, inFlightCap: inFlight), endpointCount: target.endpoints.count)
        return try await ScenarioDriver.run(.latency, target: target, plan: plan, loops: settings.loops)
    }

    private func runSearch(_ settings: LoadSettings) async throws {
        let first = try RateSearch(start: rate, growth: growth, maximum: maxRate, resolution: resolution, maxSteps: maxSteps)
        let searches = try await Target.each(settings, nodePIDs: load.pids, broadcastThreads: load.broadcastThreads) { target in
            var search = first
            var steps: [FindMaxReport.Step] = []
            while let stepRate = search.nextRate {
                let result = try await runStep(settings, target: target, rate: stepRate)
                let passed = RateSearch.passes(
                    correct: result.ok, p99: result.endToEnd.p99, target: targetP99, rate: stepRate, achieved: result.sendsPerSecond)
                Log.info(
                    "\(target.name) \(TextTable.fixed(stepRate, 0)) sends/s: p99 \(TextTable.fixed(result.endToEnd.p99)) ms, "
                        + (passed ? "pass" : "fail") + (result.ok ? "" : " (" + result.failures.joined(separator: ", ") + ")"))
                steps.append(FindMaxReport.Step(result: result, passed: passed))
                search.record(rate: stepRate, passed: passed)
                // A wrong answer ends the search: a faster rate is meaningless if delivery is broken.
                if !result.ok { break }
            }
            return FindMaxReport(target: target.name, targetP99: targetP99, steps: steps, best: search.best)
        }
        let table = searches.map(\.table).joined(separator: "\n\n")
        var fields: [(String, BenchJSON)] = [
            ("scenario", .string("latency")), ("mode", .string("find-max")), ("target_p99_ms", .number(targetP99)),
        ]
        for search in searches { fields.append((search.target, search.json)) }
        if searches.count == 2 {
            let ratio = Report.ratio(searches[0].best ?? 0, searches[1].best ?? 0)
            fields.append(("ratio", ratio.map { .number($0) } ?? .null))
        }
        let ok = searches.allSatisfy { $0.steps.allSatisfy(\.result.ok) }
        fields.append(("ok", .bool(ok)))
        var text = table
        if searches.count == 2, let ratio = Report.ratio(searches[0].best ?? 0, searches[1].best ?? 0) {
            text += "\nnodes / broadcast (sustained rate): " + TextTable.fixed(ratio, 3)
        }
        Report.emit(table: text, json: .object(fields), jsonOnly: load.json)
        if !ok { throw ExitCode(1) }
    }
}
