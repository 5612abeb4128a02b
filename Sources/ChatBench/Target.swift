/// The targets of one invocation: the nodes given with `--url` (if any), then, with
/// `--compare-broadcast`, the broadcast server started as a child for this invocation and
/// stopped (by PID) at its end, even when a run fails.
struct Target: Sendable {
    /// `nodes` or `broadcast`.
    var name: String
    var endpoints: [BenchEndpoint]
    /// The PIDs of the processes behind the endpoints, where known (one per endpoint).
    var pids: [Int32]

    static func each<Result: Sendable>(
        _ settings: LoadSettings, nodePIDs: [Int32] = [], broadcastThreads: Int,
        _ body: (Target) async throws -> Result
    ) async throws -> [Result] {
        let child = settings.compareBroadcast ? try await BroadcastChild.start(threads: broadcastThreads) : nil
        if let child { Log.info("broadcast server started: pid \(child.pid), \(child.endpoint)") }
        var results: [Result] = []
        do {
            if !settings.endpoints.isEmpty {
                results.append(try await body(Target(name: "nodes", endpoints: settings.endpoints, pids: nodePIDs)))
            }
            if let child {
                results.append(try await body(Target(name: "broadcast", endpoints: [child.endpoint], pids: [child.pid])))
            }
        } catch {
            await child?.stop()
            throw error
        }
        await child?.stop()
        return results
    }
}
