import Foundation
import NIOCore
import NIOPosix

/// Runs whole fan-out and latency runs: one event-loop group per run, set-up to tear-down.
enum ScenarioDriver {
    /// One complete run against `endpoints`; the group of `loops` event loops lives for the run.
    static func run(
        _ scenario: ScenarioResult.Scenario, target: Target, plan: RunPlan, loops: Int
    ) async throws -> ScenarioResult {
        let endpoints = target.endpoints
        let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
        let run = ScenarioRun(endpoints: endpoints, plan: plan, group: group)
        let describe = plan.rate.map { " at \(TextTable.fixed($0, 0)) sends/s" } ?? ""
        Log.info(
            "\(scenario.rawValue) on \(target.name)\(describe): \(plan.shape.connectionCount) connections to \(endpoints.count) endpoint(s)"
        )
        do {
            let setUp = try await run.setUp(log: Log.info)
            let cpuBefore = cpu(target.pids)
            try await run.sendPhase()
            let cpuAfter = cpu(target.pids)
            let timedOut = try await run.drain()
            let measured = try await run.collect()
            await run.tearDown()
            try await group.shutdownGracefully()
            return ScenarioResult(
                scenario: scenario, target: target.name, endpoints: endpoints.map(\.description), shape: plan.shape,
                textBytes: plan.textBytes, requestedRate: plan.rate, inFlight: plan.inFlightLimit, window: seconds(plan.duration),
                setupSeconds: setUp, ackedInWindow: measured.ackedInWindow, deliveredInWindow: measured.deliveredInWindow,
                verdict: measured.verdict, errors: measured.errors, firstError: measured.firstError,
                unexpectedCloses: measured.unexpectedCloses, drainTimedOut: timedOut, endToEnd: measured.endToEnd,
                ack: measured.ack, sendLag: measured.sendLag, clientCPU: cpuAfter.client - cpuBefore.client,
                serverCPU: cpuAfter.server.flatMap { after in cpuBefore.server.map { after - $0 } })
        } catch {
            await run.tearDown()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// CPU seconds so far of this process and of the given processes (nil if any is unknown).
    private static func cpu(_ pids: [Int32]) -> (client: Double, server: Double?) {
        let client = ProcessCPU.seconds(pid: getpid()) ?? 0
        guard !pids.isEmpty else { return (client, nil) }
        var total = 0.0
        for pid in pids {
            guard let seconds = ProcessCPU.seconds(pid: pid) else { return (client, nil) }
            total += seconds
        }
        return (client, total)
    }
}
