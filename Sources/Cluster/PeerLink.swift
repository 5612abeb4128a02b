import ChatCore
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// This node's outbound link to one peer: it sends requests for rooms the peer owns and
/// receives the replies and the rooms' pushes.
///
/// The link connects, proves the cluster secret (`LinkHandshake`), and reconnects with back-off
/// (100 ms doubling to 2 s) while the peer is a member. Requests wait at most `requestTimeout`
/// for their reply; when the link drops, pending requests fail with `unavailable`, the peer
/// drops our subscriptions, and once the link is back `onReady` makes the cluster subscribe the
/// rooms the peer owns again, with the last seq each delivered.
final class PeerLink: @unchecked Sendable {
    struct Pending {
        var onReply: (InternalFrame) -> Void
        var fail: (any Error) -> Void
    }

    let peerID: String
    let host: String
    let port: Int
    private let nodeID: String
    private let boot: String
    private let secret: String
    private let group: any EventLoopGroup
    private let logger: Logger
    private let requestTimeout: TimeAmount
    private let onPush: @Sendable (InternalFrame) -> Void
    private let onReady: @Sendable (PeerLink) -> Void
    private let onLost: @Sendable (PeerLink, _ silent: Bool) -> Void

    private let lock = NIOLock()
    private var channel: (any Channel)?
    private var writer: LinkWriter?
    private var pending: [UInt64: Pending] = [:]
    private var nextCorrelation: UInt64 = 0
    private var stopped = false
    /// The current channel is being closed because it went silent (`silent`).
    private var silenced = false
    private var task: Task<Void, Never>?

    init(
        peerID: String, host: String, port: Int, nodeID: String, boot: String, secret: String, group: any EventLoopGroup,
        logger: Logger,
        requestTimeout: TimeAmount = .seconds(3),
        onPush: @escaping @Sendable (InternalFrame) -> Void,
        onReady: @escaping @Sendable (PeerLink) -> Void,
        onLost: @escaping @Sendable (PeerLink, Bool) -> Void = { _, _ in }
    ) {
        self.onLost = onLost
        self.peerID = peerID
        self.host = host
        self.port = port
        self.nodeID = nodeID
        self.boot = boot
        self.secret = secret
        self.group = group
        self.logger = logger
        self.requestTimeout = requestTimeout
        self.onPush = onPush
        self.onReady = onReady
    }

    var isConnected: Bool { lock.withLock { channel != nil } }

    func start() {
        lock.withLock {
            task = Task { [self] in await connectLoop() }
        }
    }

    func stop() {
        let (channel, task) = lock.withLock {
            stopped = true
            return (self.channel, self.task)
        }
        task?.cancel()
        channel?.close(promise: nil)
    }

    /// Sends a request and waits for its reply. `onReply` runs on the link's event loop in frame
    /// order, before any later push is handled: use it for work that must precede those pushes.
    func request(
        timeout: TimeAmount? = nil, _ make: (UInt64) -> InternalFrame, onReply: @escaping (InternalFrame) -> Void = { _ in }
    ) async throws -> InternalFrame {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<InternalFrame, any Error>) in
            let sent: (LinkWriter, UInt64, InternalFrame)? = lock.withLock {
                guard let writer else { return nil }
                nextCorrelation += 1
                let corr = nextCorrelation
                let once = ResumeOnce(continuation)
                pending[corr] = Pending(
                    onReply: { frame in
                        onReply(frame)
                        once.resume(.success(frame))
                    },
                    fail: { error in once.resume(.failure(error)) })
                return (writer, corr, make(corr))
            }
            guard let (writer, corr, frame) = sent else {
                continuation.resume(throwing: ProtocolError(.unavailable, "no link to \(peerID); retry"))
                return
            }
            ClusterMetrics.forwarded.increment()
            writer.write(frame.encoded)
            writer.channel.eventLoop.scheduleTask(in: timeout ?? requestTimeout) { [self] in
                let timedOut = lock.withLock { pending.removeValue(forKey: corr) }
                timedOut?.fail(ProtocolError(.unavailable, "\(peerID) did not answer in time; retry"))
            }
        }
    }

    /// Writes a frame that expects no reply (room groups' packets); dropped while the link is
    /// down: the groups' own retries cover what a lost write carried.
    func send(_ frame: InternalFrame) {
        guard let writer = lock.withLock({ self.writer }) else { return }
        writer.write(frame.encoded)
    }

    // MARK: Connection

    private func connectLoop() async {
        var backoff: TimeAmount = .milliseconds(100)
        while !Task.isCancelled && !lock.withLock({ stopped }) {
            do {
                let channel = try await connect()
                backoff = .milliseconds(100)
                try? await channel.closeFuture.get()
            } catch {
                logger.debug("link to \(peerID) at \(host):\(port) failed: \(error)")
            }
            try? await Task.sleep(nanoseconds: UInt64(backoff.nanoseconds))
            backoff = min(backoff * 2, .seconds(2))
        }
    }

    private func connect() async throws -> any Channel {
        let handshake = LinkHandshake(role: .client, nodeID: nodeID, secret: secret)
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(1))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let decoder = try LinkFraming.addHandlers(to: channel.pipeline.syncOperations)
                    try channel.pipeline.syncOperations.addHandler(LinkClientHandler(link: self, handshake: handshake, decoder: decoder))
                }
            }
            .connect(host: host, port: port)
            .get()
        return channel
    }

    /// The handshake completed on `channel`.
    fileprivate func established(_ channel: any Channel) {
        let stopped = lock.withLock {
            if !self.stopped {
                self.channel = channel
                self.writer = LinkWriter(channel)
                // Before any request: which process of this node the link belongs to.
                self.writer?.write(InternalFrame.identify(boot: boot).encoded)
            }
            return self.stopped
        }
        guard !stopped else {
            channel.close(promise: nil)
            return
        }
        ClusterMetrics.linkChanged(by: 1)
        logger.info("link to \(peerID) is up")
        onReady(self)
    }

    /// How often an idle link is pinged (a `stats` request with correlation 0, whose reply is
    /// dropped), and how long a link may stay silent before it is closed as dead. TCP alone
    /// never notices a peer that stopped answering (a one-way cut, a paused process, a host
    /// that vanished): its writes are retransmitted for minutes. The limit is well above a
    /// busy event loop's stalls and well below the client checker's live grace (3 s).
    static let pingInterval: TimeAmount = .milliseconds(250)
    static let silenceLimit: TimeAmount = .milliseconds(2000)

    /// The link heard nothing for `silenceLimit`: it is closed (and `onLost` called).
    fileprivate func silent(_ channel: any Channel) {
        logger.warning("link to \(peerID) heard nothing for \(Self.silenceLimit.nanoseconds / 1_000_000) ms; closing it")
        lock.withLock { if self.channel === channel { silenced = true } }
        channel.close(promise: nil)
    }

    /// A frame arrived after the handshake (on the event loop, in order).
    fileprivate func received(_ frame: InternalFrame) {
        if let corr = frame.replyCorrelation {
            let waiting = lock.withLock { pending.removeValue(forKey: corr) }
            waiting?.onReply(frame)
        } else {
            onPush(frame)
        }
    }

    fileprivate func closed(_ channel: any Channel, wasEstablished: Bool) {
        let (failed, stopped, silent): ([Pending], Bool, Bool) = lock.withLock {
            guard self.channel === channel else { return ([], self.stopped, false) }
            self.channel = nil
            self.writer = nil
            let failed = Array(pending.values)
            pending = [:]
            defer { silenced = false }
            return (failed, self.stopped, silenced)
        }
        if wasEstablished {
            ClusterMetrics.linkChanged(by: -1)
            logger.info("link to \(peerID) is down")
            if !stopped { onLost(self, silent) }
        }
        for request in failed { request.fail(ProtocolError(.unavailable, "link to \(peerID) dropped; retry")) }
    }
}

/// Resumes a continuation at most once (a reply and a timeout may race).
final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NIOLock()
    private var continuation: CheckedContinuation<T, any Error>?

    init(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation = continuation
    }

    func resume(_ result: Result<T, any Error>) {
        let continuation = lock.withLock {
            defer { self.continuation = nil }
            return self.continuation
        }
        continuation?.resume(with: result)
    }
}

/// The client end of a link: runs the handshake, then hands frames to the `PeerLink`.
final class LinkClientHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let link: PeerLink
    private var handshake: LinkHandshake
    private let decoder: LinkFrameDecoder
    private var lastRead = NIODeadline.now()
    private var lastTick = NIODeadline.now()
    private var keepalive: RepeatedTask?

    init(link: PeerLink, handshake: LinkHandshake, decoder: LinkFrameDecoder) {
        self.link = link
        self.handshake = handshake
        self.decoder = decoder
    }

    func channelActive(context: ChannelHandlerContext) {
        if let hello = handshake.hello {
            context.writeAndFlush(wrapOutboundOut(hello.encoded), promise: nil)
        }
        let channel = context.channel
        context.eventLoop.scheduleTask(in: LinkFraming.handshakeTimeout) { [self] in
            if !handshake.isEstablished { channel.close(promise: nil) }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastRead = .now()
        var buffer = unwrapInboundIn(data)
        guard let frame = try? InternalFrame.decode(&buffer) else {
            context.close(promise: nil)
            return
        }
        guard handshake.isEstablished else {
            switch handshake.receive(frame) {
            case .send(let reply):
                context.writeAndFlush(wrapOutboundOut(reply.encoded), promise: nil)
                if handshake.isEstablished {
                    decoder.limit = InternalFrame.maxFrameBytes
                    link.established(context.channel)
                    startKeepalive(context.channel)
                }
            case .reject:
                ClusterMetrics.linkRejected.increment()
                context.close(promise: nil)
            case .established:
                link.established(context.channel)
                startKeepalive(context.channel)
            case .none:
                break
            }
            return
        }
        link.received(frame)
    }

    /// Pings the peer whenever the link was quiet for a ping interval, and closes it once it was
    /// silent for `PeerLink.silenceLimit` (see there).
    private func startKeepalive(_ channel: any Channel) {
        lastRead = .now()
        lastTick = .now()
        let ping = InternalFrame.stats(corr: 0).encoded
        keepalive = channel.eventLoop.scheduleRepeatedTask(initialDelay: PeerLink.pingInterval, delay: PeerLink.pingInterval) {
            [self] task in
            let now = NIODeadline.now()
            defer { lastTick = now }
            // A tick far later than asked means this process was stalled (paused, starved):
            // the silence is its own, not the peer's. Listen afresh.
            if now - lastTick >= .nanoseconds(PeerLink.silenceLimit.nanoseconds / 2) { lastRead = now }
            let quiet = now - lastRead
            if quiet >= PeerLink.silenceLimit {
                task.cancel()
                link.silent(channel)
            } else if quiet >= PeerLink.pingInterval {
                channel.writeAndFlush(ping, promise: nil)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        keepalive?.cancel()
        keepalive = nil
        link.closed(context.channel, wasEstablished: handshake.isEstablished)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
