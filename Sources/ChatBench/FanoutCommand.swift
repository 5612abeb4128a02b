import ArgumentParser

/// `chat-bench fanout`: senders go as fast as acks allow; reports delivered messages per second.
struct FanoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "R rooms x M members over the nodes; S senders per room as fast as acks allow; delivered/s.")

    @OptionGroup var load: LoadOptions

    @Option(name: .customLong("in-flight"), help: "Unacknowledged sends each sender keeps going.")
    var inFlight = 16

    func validate() throws {
        guard inFlight >= 1 else { throw ValidationError("--in-flight must be at least 1") }
    }

    func run() async throws {
        let settings = try load.settings()
        let results = try await Target.each(settings, nodePIDs: load.pids, broadcastThreads: load.broadcastThreads) { target in
            let plan = try settings.plan(mode: .closedLoop(inFlight: inFlight), endpointCount: target.endpoints.count)
            return try await ScenarioDriver.run(.fanout, target: target, plan: plan, loops: settings.loops)
        }
        Self.emit(results, jsonOnly: load.json) { $0.deliveredPerSecond }
        if results.contains(where: { !$0.ok }) { throw ExitCode(1) }
    }

    /// The table and JSON line of one or two results (nodes, then broadcast), with the ratio of
    /// `figure` (nodes ÷ broadcast) when there are both.
    static func emit(_ results: [ScenarioResult], jsonOnly: Bool, figure: (ScenarioResult) -> Double) {
        var table = ScenarioResult.table(results)
        guard results.count == 2 else {
            Report.emit(table: table, json: results.first?.json ?? .null, jsonOnly: jsonOnly)
            return
        }
        let ratio = Report.ratio(figure(results[0]), figure(results[1]))
        table += "\nnodes / broadcast: " + (ratio.map { TextTable.fixed($0, 3) } ?? "-")
        let json = BenchJSON.object([
            ("scenario", .string(results[0].scenario.rawValue)), ("nodes", results[0].json), ("broadcast", results[1].json),
            ("ratio", ratio.map { .number($0) } ?? .null), ("ok", .bool(results.allSatisfy(\.ok))),
        ])
        Report.emit(table: table, json: json, jsonOnly: jsonOnly)
    }
}
