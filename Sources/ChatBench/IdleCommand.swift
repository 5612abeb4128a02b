import ArgumentParser
import NIOCore
import NIOPosix

/// `chat-bench idle`: C connections that say hello, join a room and stay; reports the resident
/// memory each node process gains per connection (VmRSS from /proc/PID/status, after the hold,
/// minus before connecting). At the end every room gets one message, checked like any run, so
/// the connections are proven alive.
struct IdleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "C idle connections in rooms of M members; resident memory per connection of each node.")

    @Option(name: .customLong("url"), help: "A node's WebSocket URL (repeat; connections go round-robin).")
    var urls: [String] = []

    @Option(name: .customLong("pid"), help: "The PID of the node behind each --url, in the same order.")
    var pids: [Int32] = []

    @Option(help: "Connections in all (a multiple of --members).")
    var connections = 10_000

    @Option(help: "Members per room.")
    var members = 50

    @Option(help: "Seconds the connections stay idle before memory is read.")
    var hold: Double = 5

    @Option(help: "Event loops (threads) of the client side.")
    var loops = 1

    @Option(name: .customLong("connect-concurrency"), help: "Connections opened at the same time.")
    var connectConcurrency = 128

    @Option(help: "Seconds between the last join and the start of the hold.")
    var settle: Double = 1

    @Option(help: "Longest wait, in seconds, for the final check messages.")
    var drain: Double = 15

    @Flag(help: "Print only the JSON line (no table).")
    var json = false

    @Flag(name: .customLong("compare-broadcast"), help: "Also measure the broadcast server (started as a child).")
    var compareBroadcast = false

    @Option(name: .customLong("broadcast-threads"), help: "Event loops of the broadcast server child.")
    var broadcastThreads = System.coreCount

    func validate() throws {
        guard pids.isEmpty || pids.count == urls.count else {
            throw ValidationError("give one --pid per --url (or none: memory is then not reported)")
        }
        guard members >= 1, connections >= members, connections % members == 0 else {
            throw ValidationError("--connections must be a positive multiple of --members")
        }
        guard hold >= 0 else { throw ValidationError("--hold must not be negative") }
    }

    func run() async throws {
        let settings: LoadSettings
        do {
            settings = try LoadSettings(
                urls: urls, rooms: connections / members, members: members, sendersPerRoom: 1, duration: 0.2, textBytes: 64,
                loops: loops, drain: drain, settle: settle, connectConcurrency: connectConcurrency,
                compareBroadcast: compareBroadcast)
        } catch {
            throw ValidationError(error.description)
        }
        let results = try await Target.each(settings, nodePIDs: pids, broadcastThreads: broadcastThreads) { target in
            try await measure(settings, target: target)
        }
        var table = IdleResult.table(results)
        var fields: [(String, BenchJSON)] = [("scenario", .string("idle"))]
        if results.count == 2 {
            let ratio = Report.ratio(results[0].nodeKilobytesPerConnection ?? 0, results[1].nodeKilobytesPerConnection ?? 0)
            table += "\nnodes / broadcast (KiB per connection): " + (ratio.map { TextTable.fixed($0, 2) } ?? "-")
            fields += [("nodes", results[0].json), ("broadcast", results[1].json), ("ratio", ratio.map { .number($0) } ?? .null)]
            fields.append(("ok", .bool(results.allSatisfy(\.ok))))
        } else if let only = results.first {
            if case .object(let own) = only.json { fields += own }
        }
        Report.emit(table: table, json: .object(fields), jsonOnly: json)
        if results.contains(where: { !$0.ok }) { throw ExitCode(1) }
    }

    private func measure(_ settings: LoadSettings, target: Target) async throws -> IdleResult {
        let plan = try settings.plan(mode: .once, endpointCount: target.endpoints.count)
        let before = target.pids.map { ProcessMemory.residentKilobytes(pid: $0) }
        let clientBefore = ProcessMemory.ownResidentKilobytes
        let group = MultiThreadedEventLoopGroup(numberOfThreads: settings.loops)
        let run = ScenarioRun(endpoints: target.endpoints, plan: plan, group: group)
        Log.info("idle on \(target.name): \(plan.shape.connectionCount) connections in \(plan.shape.rooms) rooms")
        do {
            let setUp = try await run.setUp(log: Log.info)
            try await Task.sleep(for: .nanoseconds(Int64(hold * 1e9)))
            let after = target.pids.map { ProcessMemory.residentKilobytes(pid: $0) }
            let clientAfter = ProcessMemory.ownResidentKilobytes
            try await run.sendPhase()
            let timedOut = try await run.drain()
            let measured = try await run.collect()
            await run.tearDown()
            try await group.shutdownGracefully()
            let perEndpoint = plan.shape.connectionsPerEndpoint
            let nodes = target.endpoints.indices.map { index in
                IdleResult.Node(
                    endpoint: target.endpoints[index].description, pid: index < target.pids.count ? target.pids[index] : nil,
                    connections: perEndpoint[index], rssBeforeKilobytes: index < before.count ? before[index] : nil,
                    rssAfterKilobytes: index < after.count ? after[index] : nil)
            }
            return IdleResult(
                target: target.name, connections: plan.shape.connectionCount, rooms: plan.shape.rooms, setupSeconds: setUp,
                holdSeconds: hold, nodes: nodes,
                clientKilobytes: clientBefore.flatMap { b in clientAfter.map { $0 - b } },
                verdict: measured.verdict, errors: measured.errors, firstError: measured.firstError,
                unexpectedCloses: measured.unexpectedCloses, drainTimedOut: timedOut)
        } catch {
            await run.tearDown()
            try? await group.shutdownGracefully()
            throw error
        }
    }
}
