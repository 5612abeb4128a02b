import ChatClient
import Histogram
import NIOCore

/// One run of a scenario against a set of endpoints, phase by phase: `setUp` (connect, hello,
/// join), `sendPhase`, `drain`, `collect`, `tearDown`. The per-frame work happens in the
/// `LoopShard`s, on the event loops; this type only starts phases and polls counters.
final class ScenarioRun: Sendable {
    /// The merged measurements of every shard.
    struct Measured: Sendable {
        var verdict: DeliveryChecker.Verdict
        var endToEnd: LatencySummary
        var ack: LatencySummary
        var sendLag: LatencySummary
        var ackedInWindow: Int
        var deliveredInWindow: Int
        var errors: Int
        var firstError: String?
        var unexpectedCloses: Int
    }

    let endpoints: [BenchEndpoint]
    let plan: RunPlan
    private let shards: [LoopShard]
    private let group: any EventLoopGroup

    init(endpoints: [BenchEndpoint], plan: RunPlan, group: any EventLoopGroup) {
        precondition(endpoints.count == plan.shape.endpointCount, "one endpoint per shape endpoint")
        self.endpoints = endpoints
        self.plan = plan
        self.group = group
        shards = group.makeIterator().map { LoopShard(loop: $0, plan: plan) }
    }

    /// Connects every connection (a bounded number at a time), says hello, joins, and waits until
    /// every connection has its `joined` and the settle time has passed. Returns the seconds it took.
    func setUp(log: @Sendable (String) -> Void) async throws -> Double {
        let clock = ContinuousClock()
        let started = clock.now
        let shape = plan.shape
        let total = shape.connectionCount
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            var next = 0
            func addNext() {
                let index = next
                next += 1
                tasks.addTask { try await self.connect(index) }
            }
            for _ in 0..<min(plan.connectConcurrency, total) { addNext() }
            while try await tasks.next() != nil {
                if next < total { addNext() }
            }
        }
        log("connected \(total) connections in \(seconds(clock.now - started)) s; waiting for joins")
        let deadline = clock.now + .seconds(30) + .milliseconds(5 * total)
        while true {
            let progress = try await self.progress()
            if progress.joined == total { break }
            if progress.closes > 0 { throw BenchError("\(progress.closes) connections closed during set-up") }
            guard clock.now < deadline else {
                throw BenchError("only \(progress.joined) of \(total) connections joined their room in time")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: plan.settle)
        return seconds(clock.now - started)
    }

    private func connect(_ index: Int) async throws {
        let shape = plan.shape
        let endpoint = endpoints[shape.endpoint(ofConnection: index)]
        let room = shape.room(ofConnection: index)
        let client = BenchClient(
            index: index, room: room, roomName: plan.roomName(room), sender: shape.sender(ofConnection: index))
        let connection: ChatClientConnection
        do {
            connection = try await ChatClientConnection.connect(
                ChatClientConfiguration(host: endpoint.host, port: endpoint.port, path: endpoint.path), group: group,
                onEvent: { client.handle($0) }, onClose: { client.handleClose(code: $0) })
        } catch {
            throw BenchError("connection \(index) to \(endpoint) failed: \(error)")
        }
        let loop = connection.eventLoop
        guard let shard = shards.first(where: { $0.loop === loop }) else {
            connection.abort()
            throw BenchError("connection \(index) is on an event loop outside the group")
        }
        try await loop.submit { shard.attach(client, connection: connection) }.get()
    }

    /// Runs the send phase: every shard starts at the same instant, 50 ms from now; returns at its end.
    func sendPhase() async throws {
        let duration = UInt64(plan.duration / .nanoseconds(1))
        let start = LoopShard.now() + 50_000_000
        for shard in shards {
            try await shard.loop.submit { shard.startSending(at: start, duration: duration) }.get()
        }
        let remaining = start + duration - LoopShard.now()
        try await Task.sleep(for: .nanoseconds(Int64(remaining)))
    }

    /// Waits until every send is acked and every acked message reached every member, or the drain
    /// timeout passes (returns true then).
    func drain() async throws -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + plan.drainTimeout
        var stable = 0
        var last = LoopShard.Progress()
        while clock.now < deadline {
            try await Task.sleep(for: .milliseconds(25))
            let progress = try await self.progress()
            let done =
                progress.acked + progress.errors >= progress.sent
                && progress.delivered >= progress.acked * plan.shape.members
            // Fixed-rate senders held back by their cap may still be sending: wait until quiet.
            stable = (progress.sent == last.sent) ? stable + 1 : 0
            last = progress
            if done && stable >= 2 { return false }
        }
        return true
    }

    /// The merged counters of every shard.
    func progress() async throws -> LoopShard.Progress {
        var total = LoopShard.Progress()
        for shard in shards {
            let p = try await shard.loop.submit { shard.currentProgress }.get()
            total.joined += p.joined
            total.sent += p.sent
            total.acked += p.acked
            total.delivered += p.delivered
            total.errors += p.errors
            total.closes += p.closes
        }
        return total
    }

    /// Merges every shard's checker and histograms.
    func collect() async throws -> Measured {
        var checker = DeliveryChecker(shape: plan.shape)
        var endToEnd = LatencySummary.makeHistogram()
        var ack = LatencySummary.makeHistogram()
        var sendLag = LatencySummary.makeHistogram()
        var measured = Measured(
            verdict: .init(), endToEnd: .empty, ack: .empty, sendLag: .empty, ackedInWindow: 0, deliveredInWindow: 0,
            errors: 0, firstError: nil, unexpectedCloses: 0)
        for shard in shards {
            let outcome = try await shard.loop.submit { shard.outcome }.get()
            checker.merge(outcome.checker)
            endToEnd.add(outcome.endToEnd)
            ack.add(outcome.ack)
            sendLag.add(outcome.sendLag)
            measured.ackedInWindow += outcome.ackedInWindow
            measured.deliveredInWindow += outcome.deliveredInWindow
            measured.errors += outcome.errors
            measured.firstError = measured.firstError ?? outcome.firstError
            measured.unexpectedCloses += outcome.unexpectedCloses
        }
        measured.verdict = checker.verdict()
        measured.endToEnd = LatencySummary(endToEnd)
        measured.ack = LatencySummary(ack)
        measured.sendLag = LatencySummary(sendLag)
        return measured
    }

    /// Closes every connection (close frames) and waits up to 3 s for them to finish.
    func tearDown() async {
        for shard in shards {
            _ = try? await shard.loop.submit { shard.closeAll() }.get()
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(3)
        while clock.now < deadline {
            guard let progress = try? await self.progress(), progress.closes < progress.joined else { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// A duration in seconds, as a Double.
func seconds(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) / 1e18
}
