import Logging
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The NIO shell around `SWIMEndpoint`: binds UDP, feeds datagrams and timer ticks to the pure
/// state machine, writes the datagrams it asks for, publishes member changes and metrics.
///
/// Everything runs on the channel's event loop (reads, the one timer); the state sits behind a
/// mutex so that `members`, `isJoined` and `leave()` can be used from anywhere.
public final class GossipService: Service, Sendable {
    /// Gossip has an event loop of its own: probes and their timeouts must not queue behind a
    /// busy node's client traffic, or a loaded node would be suspected (and its peers too) while
    /// all of them are alive.
    static let eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    enum Phase: Sendable, Equatable {
        case idle, running, leaving, stopped
    }

    struct State: Sendable {
        var phase: Phase = .idle
        var endpoint: SWIMEndpoint?
        var channel: (any Channel)?
        /// Sends bypass the channel (see `GossipSocket`).
        var socket: GossipSocket?
        var timer: Scheduled<Void>?
        var timerDeadline: NIODeadline?
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        var members: [GossipMember]
        var isJoined = false
        var removalReported = false
        var boundPort: Int?
        var resolver = GossipResolver()
        var sendErrors: UInt64 = 0
        var health = GossipHealthLog()
        var stats = SWIMStats()
        var bad: UInt64 = 0
        var replayed: UInt64 = 0
        var sent: UInt64 = 0
        var received: UInt64 = 0
        var alive = -1
    }

    struct Metrics: Sendable {
        let rounds = Counter(label: "chat_gossip_rounds_total")
        let suspicions = Counter(label: "chat_gossip_suspicions_total")
        let deaths = Counter(label: "chat_gossip_deaths_total")
        let badDatagrams = Counter(label: "chat_gossip_bad_datagrams_total")
        let replayedDatagrams = Counter(label: "chat_gossip_replayed_datagrams_total")
        let sent = Counter(label: "chat_gossip_datagrams_sent_total")
        let received = Counter(label: "chat_gossip_datagrams_received_total")
        let alive = Gauge(label: "chat_gossip_members_alive")
        let sendErrors = Counter(label: "chat_gossip_send_errors_total")
    }

    public let configuration: GossipConfiguration
    let logger: Logger
    let state: Mutex<State>
    let metrics = Metrics()
    private let eventStream: AsyncStream<GossipEvent>
    private let eventContinuation: AsyncStream<GossipEvent>.Continuation

    public init(configuration: GossipConfiguration, logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "gossip.node"] = "\(configuration.nodeID)"
        self.logger = logger
        let provisional = GossipMember(
            id: configuration.nodeID,
            address: configuration.advertisedAddress ?? GossipAddress(host: configuration.bindHost, port: configuration.bindPort),
            metadata: configuration.metadata)
        self.state = Mutex(State(members: [provisional]))
        (eventStream, eventContinuation) = AsyncStream.makeStream(of: GossipEvent.self, bufferingPolicy: .unbounded)
    }

    /// Snapshot of every member known, this node included, all statuses (dead and left members
    /// stay for `deadMemberRetention`).
    public var members: [GossipMember] { state.withLock { $0.members } }

    /// Member changes, in order. One consumer. Finishes when `run()` returns.
    public var events: AsyncStream<GossipEvent> { eventStream }

    /// True once full state was exchanged with another member (or at once without other seeds).
    public var isJoined: Bool { state.withLock { $0.isJoined } }

    /// Datagrams whose send failed locally (a blackhole route, no route, a firewall).
    public var sendErrors: UInt64 { state.withLock { $0.sendErrors } }

    /// The UDP port actually bound, once `run()` has bound it.
    public var boundPort: Int? { state.withLock { $0.boundPort } }

    /// Binds, joins through the seeds (retrying with back-off until one answers), runs until
    /// graceful shutdown or `leave()`, announces `.left` for `leaveDuration`, and returns.
    /// Cancellation stops at once, without the announcement.
    public func run() async throws {
        let proceed = state.withLock { s -> Bool in
            guard s.phase == .idle else { return false }
            s.phase = .running
            return true
        }
        guard proceed else { return }
        let channel: any Channel
        let socket: GossipSocket
        do {
            (channel, socket) = try await bind()
        } catch {
            stop()
            eventContinuation.finish()
            throw error
        }
        let bound = channel.localAddress?.port ?? configuration.bindPort
        let advertised =
            configuration.advertisedAddress
            ?? GossipAddress(host: configuration.advertisedHost ?? Self.advertisableHost(configuration.bindHost), port: bound)
        let me = GossipMember(
            id: configuration.nodeID, address: advertised, metadata: configuration.metadata, status: .alive,
            incarnation: Self.millisecondsSinceEpoch())
        let recordSize = SWIMCodec.encodedSize(of: SWIMUpdate(member: me))
        guard recordSize <= SWIMCodec.maxRecordSize else {
            try? await channel.close()
            stop()
            eventContinuation.finish()
            throw GossipError.memberRecordTooLarge(recordSize)
        }
        let seeds = configuration.seeds.filter { !isOwnAddress($0, advertised: advertised, boundPort: bound) }
        let instance = SWIMInstance(
            settings: configuration.settings, myself: me, seeds: seeds, now: Self.now(),
            randomSeed: UInt64.random(in: .min ... .max))
        let stillRunning = state.withLock { s -> Bool in
            s.boundPort = bound
            s.channel = channel
            s.socket = socket
            s.endpoint = SWIMEndpoint(
                instance: instance, secrets: [configuration.secret] + configuration.acceptedSecrets,
                wallClockOffset: Self.wallClockOffset())
            // Visible from the moment the port is: a node without seeds is joined at once (a
            // reader that saw `boundPort` must not see `isJoined` false until the first tick).
            s.isJoined = instance.isJoined
            return s.phase != .stopped
        }
        logger.info("gossip bound", metadata: ["address": "\(advertised)", "seeds": "\(seeds)"])
        watch(channel)
        if stillRunning {
            onEventLoop { $0.tick(now: $1) }
            let leaving = state.withLock { $0.phase == .leaving }
            if leaving { onEventLoop { $0.leave(now: $1) } }
            await withGracefulShutdownHandler {
                await withTaskCancellationHandler {
                    await self.waitUntilStopped()
                } onCancel: {
                    self.stop()
                }
            } onGracefulShutdown: {
                if self.configuration.leavesOnGracefulShutdown { self.beginLeave() }
            }
        }
        stop()
        let current = state.withLock { s -> (any Channel)? in
            defer {
                s.channel = nil
                s.socket = nil
            }
            return s.channel
        }
        try? await (current ?? channel).close()
        eventContinuation.finish()
        logger.info("gossip stopped")
    }

    /// Graceful leave now: announces `.left` for `leaveDuration`, then `run()` returns.
    /// Idempotent; returns once the announcement is over (at once if not running).
    public func leave() async {
        beginLeave()
        await waitUntilStopped()
    }

    /// Removes a member that is dead for good (`SWIMInstance.onRemove`); a member that is not
    /// dead is left alone. Returns once the removal is applied here (it then spreads by gossip).
    public func remove(member id: String) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            guard let loop = state.withLock({ $0.channel?.eventLoop }) else { return done.resume() }
            loop.execute {
                self.drive { $0.remove(id, now: $1) }
                done.resume()
            }
        }
    }

    // MARK: - Internals

    private func beginLeave() {
        let action = state.withLock { s -> Int in
            switch s.phase {
            case .idle:
                s.phase = .stopped
                return 0
            case .running:
                s.phase = .leaving
                return s.endpoint == nil ? 0 : 1
            case .leaving, .stopped:
                return 0
            }
        }
        if action == 1 {
            logger.info("gossip leaving")
            onEventLoop { $0.leave(now: $1) }
        }
    }

    private func stop() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.phase = .stopped
            s.timer?.cancel()
            s.timer = nil
            s.timerDeadline = nil
            defer { s.stopWaiters = [] }
            return s.stopWaiters
        }
        for w in waiters { w.resume() }
    }

    private func waitUntilStopped() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let stopped = state.withLock { s -> Bool in
                if s.phase == .stopped { return true }
                s.stopWaiters.append(c)
                return false
            }
            if stopped { c.resume() }
        }
    }

    /// Called by `GossipInboundHandler` (GossipService+Channel.swift) for each datagram read.
    func received(_ bytes: [UInt8], from source: GossipAddress) {
        drive { $0.receive(bytes, from: source, now: $1) }
    }

    private func timerFired() {
        state.withLock { s in
            s.timer = nil
            s.timerDeadline = nil
        }
        drive { $0.tick(now: $1) }
    }

    /// Runs `body` through `drive` on the channel's event loop, where reads and timers run too, so
    /// that events are handled (and member changes published) one at a time, in order.
    private func onEventLoop(_ body: @escaping @Sendable (inout SWIMEndpoint, SWIMInstant) -> [SWIMEndpointOutput]) {
        guard let channel = state.withLock({ $0.channel }) else { return }
        if channel.eventLoop.inEventLoop {
            drive(body)
        } else {
            channel.eventLoop.execute { self.drive(body) }
        }
    }

    /// Runs one event through the endpoint, then performs what it asks. Called on the event loop.
    private func drive(_ body: (inout SWIMEndpoint, SWIMInstant) -> [SWIMEndpointOutput]) {
        struct Work {
            var outputs: [SWIMEndpointOutput] = []
            var socket: GossipSocket?
            var sends: [(GossipAddress, SocketAddress, [UInt8])] = []
            var waiters: [CheckedContinuation<Void, Never>] = []
            var toResolve: [GossipAddress] = []
            var lonely: String?
            var removed = false
        }
        let work = state.withLock { s -> Work in
            var work = Work()
            guard s.phase == .running || s.phase == .leaving, s.endpoint != nil, let channel = s.channel else { return work }
            work.socket = s.socket
            let now = Self.now()
            work.outputs = body(&s.endpoint!, now)
            var changed = false
            for o in work.outputs {
                switch o {
                case .datagram(let bytes, let to):
                    switch s.resolver.address(of: to, now: now) {
                    case .resolved(let address, let refresh):
                        work.sends.append((to, address, bytes))
                        if refresh { work.toResolve.append(to) }
                    case .pending(let request):
                        if request { work.toResolve.append(to) }
                    }
                case .memberChanged(let member):
                    changed = true
                    if member.status == .suspect { s.resolver.invalidate(member.address) }
                }
            }
            let endpoint = s.endpoint!
            let instance = endpoint.instance
            if changed { s.members = instance.members }
            if instance.removedByOperator && !s.removalReported {
                s.removalReported = true
                work.removed = true
            }
            s.isJoined = instance.isJoined
            updateMetrics(&s, endpoint)
            work.lonely = s.health.lonelyReport(
                instance: instance, seeds: configuration.seeds, badDatagrams: endpoint.badDatagrams, now: now)
            if instance.hasLeft {
                s.phase = .stopped
                s.timer?.cancel()
                s.timer = nil
                s.timerDeadline = nil
                work.waiters = s.stopWaiters
                s.stopWaiters = []
            } else {
                let next = max(0, instance.nextDeadline.nanoseconds)
                let deadline = NIODeadline.uptimeNanoseconds(UInt64(next))
                if s.timerDeadline == nil || deadline < s.timerDeadline! {
                    s.timer?.cancel()
                    s.timerDeadline = deadline
                    s.timer = channel.eventLoop.scheduleTask(deadline: deadline) { self.timerFired() }
                }
            }
            return work
        }
        if let socket = work.socket {
            for (destination, address, bytes) in work.sends {
                let error = socket.send(bytes, to: address)
                if error != 0 { sendFailed(to: destination, errno: error) }
            }
        }
        if !work.toResolve.isEmpty { resolveInBackground(work.toResolve) }
        if let lonely = work.lonely { logger.warning("\(lonely)") }
        for o in work.outputs {
            if case .memberChanged(let m) = o {
                logger.info(
                    "member changed",
                    metadata: [
                        "member": "\(m.id)", "status": "\(m.status.rawValue)", "incarnation": "\(m.incarnation)", "address": "\(m.address)",
                    ])
                eventContinuation.yield(.memberChanged(m))
            }
        }
        if work.removed {
            logger.critical("gossip says an operator removed this node from the cluster")
            eventContinuation.yield(.removedByOperator)
        }
        for w in work.waiters { w.resume() }
    }

    private func updateMetrics(_ s: inout State, _ endpoint: SWIMEndpoint) {
        let stats = endpoint.instance.stats
        if stats.rounds > s.stats.rounds { metrics.rounds.increment(by: Int64(stats.rounds - s.stats.rounds)) }
        if stats.suspicions > s.stats.suspicions { metrics.suspicions.increment(by: Int64(stats.suspicions - s.stats.suspicions)) }
        if stats.deaths > s.stats.deaths { metrics.deaths.increment(by: Int64(stats.deaths - s.stats.deaths)) }
        s.stats = stats
        if endpoint.replayedDatagrams > s.replayed {
            metrics.replayedDatagrams.increment(by: Int64(endpoint.replayedDatagrams - s.replayed))
            s.replayed = endpoint.replayedDatagrams
        }
        if endpoint.badDatagrams > s.bad {
            metrics.badDatagrams.increment(by: Int64(endpoint.badDatagrams - s.bad))
            logger.debug("dropped unauthenticated or malformed datagram")
            s.bad = endpoint.badDatagrams
        }
        if endpoint.datagramsSent > s.sent {
            metrics.sent.increment(by: Int64(endpoint.datagramsSent - s.sent))
            s.sent = endpoint.datagramsSent
        }
        if endpoint.datagramsReceived > s.received {
            metrics.received.increment(by: Int64(endpoint.datagramsReceived - s.received))
            s.received = endpoint.datagramsReceived
        }
        let alive = endpoint.instance.aliveCount
        if alive != s.alive {
            metrics.alive.record(alive)
            s.alive = alive
        }
    }

    private func isOwnAddress(_ seed: GossipAddress, advertised: GossipAddress, boundPort: Int) -> Bool {
        if seed == advertised { return true }
        guard seed.port == boundPort else { return false }
        let local: Set<String> = [
            "127.0.0.1", "localhost", "0.0.0.0", "::1", "::", configuration.bindHost, advertised.host,
        ]
        return local.contains(seed.host)
    }

    private static func advertisableHost(_ bindHost: String) -> String {
        bindHost == "0.0.0.0" || bindHost == "::" || bindHost.isEmpty ? "127.0.0.1" : bindHost
    }

    static func now() -> SWIMInstant {
        SWIMInstant(nanoseconds: Int64(NIODeadline.now().uptimeNanoseconds))
    }

    /// Wall-clock nanoseconds minus `now()`'s: datagrams carry wall-clock times.
    static func wallClockOffset() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec) - now().nanoseconds
    }

    /// Starting incarnation: wall-clock milliseconds, so a restarted process (same id) starts above
    /// anything the cluster remembers of its previous life (the state machine also jumps above
    /// any higher incarnation it hears about itself, for clocks that go backwards).
    static func millisecondsSinceEpoch() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(max(0, ts.tv_sec)) * 1000 + UInt64(max(0, ts.tv_nsec)) / 1_000_000
    }
}
