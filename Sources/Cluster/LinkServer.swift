import ChatCore
import Logging
import Metrics
import NIOCore
import NIOPosix
import RoomGroup
import Synchronization

/// Accepts internal links from other nodes. Each link proves the cluster secret first; then its
/// frames are requests for rooms this node owns, answered on the same link.
final class LinkServer: Sendable {
    private let nodeID: String
    private let secret: String
    private let logger: Logger
    private let serve: @Sendable (InternalFrame, RemoteSubscriber) async -> Void
    private let answerInline: @Sendable (InternalFrame, RemoteSubscriber) -> InternalFrame?
    private let startInline: @Sendable (InternalFrame, RemoteSubscriber) -> Bool
    private let closed: @Sendable (RemoteSubscriber) -> Void
    private let groupPackets: @Sendable ([GroupPacket]) -> Void
    /// Established inbound links, so that the links of a node declared gone can be closed.
    private let established = Mutex<[ObjectIdentifier: RemoteSubscriber]>([:])

    /// - Parameters:
    ///   - serve: answers a request that may wait (a room take-over, a commit).
    ///   - answerInline: answers a request at once on the link's event loop, or returns nil.
    ///   - startInline: starts a request on the link's event loop that answers itself later
    ///     without a task (true), or declines it (false: `serve` gets it in a task).
    ///   - group: takes room groups' packets, in link order, on the link's event loop.
    init(
        nodeID: String, secret: String, logger: Logger,
        serve: @escaping @Sendable (InternalFrame, RemoteSubscriber) async -> Void,
        answerInline: @escaping @Sendable (InternalFrame, RemoteSubscriber) -> InternalFrame?,
        startInline: @escaping @Sendable (InternalFrame, RemoteSubscriber) -> Bool = { _, _ in false },
        closed: @escaping @Sendable (RemoteSubscriber) -> Void,
        group: @escaping @Sendable ([GroupPacket]) -> Void = { _ in }
    ) {
        self.startInline = startInline
        self.groupPackets = group
        self.nodeID = nodeID
        self.secret = secret
        self.logger = logger
        self.serve = serve
        self.answerInline = answerInline
        self.closed = closed
    }

    func bind(host: String, port: Int, group: any EventLoopGroup) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let decoder = try LinkFraming.addHandlers(to: channel.pipeline.syncOperations)
                    try channel.pipeline.syncOperations.addHandler(
                        LinkServerHandler(
                            handshake: LinkHandshake(role: .server, nodeID: nodeID, secret: secret), decoder: decoder, logger: logger,
                            serve: serve, answerInline: answerInline, startInline: startInline, group: groupPackets,
                            opened: { [self] subscriber in
                                established.withLock { $0[ObjectIdentifier(subscriber)] = subscriber }
                            },
                            closed: { [self] subscriber in
                                established.withLock { $0[ObjectIdentifier(subscriber)] = nil }
                                closed(subscriber)
                            }))
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

extension LinkServer {
    /// Closes every inbound link from `node`. Called when this node stops counting `node` as a
    /// member (declared dead, left, or restarted): whatever `node` had subscribed over those links
    /// was dropped, and `node` may be running (a pause, a partition that gossip saw and TCP did
    /// not), still believing it is subscribed. Closing its links is what tells it: its side of
    /// the link reconnects and subscribes every room again from the last seq it delivered, so
    /// its clients miss nothing.
    func closeLinks(from node: String) -> Int {
        let links = established.withLock { links in links.values.filter { $0.nodeID == node } }
        for link in links { link.channel.close(promise: nil) }
        return links.count
    }
}

/// A node subscribed over an inbound link: pushes and replies are written to that link.
final class RemoteSubscriber: RoomSubscriber {
    let nodeID: String
    let channel: any Channel
    private let writer: LinkWriter
    private let bootID = Mutex("")

    /// Set by the peer's `identify` frame, the first after the handshake.
    var boot: String {
        get { bootID.withLock { $0 } }
        set { bootID.withLock { $0 = newValue } }
    }

    /// Numbers inbound links in the order they were accepted (`RoomSubscriber.link`).
    private static let accepted = Atomic<UInt64>(0)
    let link: UInt64

    init(nodeID: String, channel: any Channel) {
        self.nodeID = nodeID
        self.channel = channel
        self.link = Self.accepted.add(1, ordering: .relaxed).newValue
        self.writer = LinkWriter(channel)
    }

    var isActive: Bool { channel.isActive }

    func push(_ frame: InternalFrame) {
        ClusterMetrics.pushed.increment()
        writer.write(frame.encoded)
    }

    func push(_ frame: InternalFrame, encoded: inout ByteBuffer?) {
        ClusterMetrics.pushed.increment()
        if encoded == nil { encoded = frame.encoded }
        writer.write(encoded!)
    }
}

/// The server end of a link: the handshake, then requests handed to the cluster.
final class LinkServerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var handshake: LinkHandshake
    private let decoder: LinkFrameDecoder
    private let logger: Logger
    private let serve: @Sendable (InternalFrame, RemoteSubscriber) async -> Void
    private let answerInline: @Sendable (InternalFrame, RemoteSubscriber) -> InternalFrame?
    private let startInline: @Sendable (InternalFrame, RemoteSubscriber) -> Bool
    private let opened: @Sendable (RemoteSubscriber) -> Void
    private let closed: @Sendable (RemoteSubscriber) -> Void
    private let group: @Sendable ([GroupPacket]) -> Void
    private var subscriber: RemoteSubscriber?
    private var rejected = false

    init(
        handshake: LinkHandshake, decoder: LinkFrameDecoder, logger: Logger,
        serve: @escaping @Sendable (InternalFrame, RemoteSubscriber) async -> Void,
        answerInline: @escaping @Sendable (InternalFrame, RemoteSubscriber) -> InternalFrame?,
        startInline: @escaping @Sendable (InternalFrame, RemoteSubscriber) -> Bool,
        group: @escaping @Sendable ([GroupPacket]) -> Void,
        opened: @escaping @Sendable (RemoteSubscriber) -> Void,
        closed: @escaping @Sendable (RemoteSubscriber) -> Void
    ) {
        self.group = group
        self.startInline = startInline
        self.opened = opened
        self.handshake = handshake
        self.decoder = decoder
        self.logger = logger
        self.serve = serve
        self.answerInline = answerInline
        self.closed = closed
    }

    /// A peer that has not proved the secret within `LinkFraming.handshakeTimeout` is dropped.
    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        context.eventLoop.scheduleTask(in: LinkFraming.handshakeTimeout) { [self] in
            if subscriber == nil && channel.isActive { reject(channel, "no handshake within \(LinkFraming.handshakeTimeout)") }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !rejected else { return }
        var buffer = unwrapInboundIn(data)
        guard let frame = try? InternalFrame.decode(&buffer) else {
            reject(context.channel, "malformed frame")
            return
        }
        guard let subscriber else {
            switch handshake.receive(frame) {
            case .send(let reply):
                context.writeAndFlush(wrapOutboundOut(reply.encoded), promise: nil)
            case .established(let peer):
                let established = RemoteSubscriber(nodeID: peer, channel: context.channel)
                subscriber = established
                opened(established)
                decoder.limit = InternalFrame.maxFrameBytes
            case .reject(let reason):
                reject(context.channel, reason)
            case .none:
                break
            }
            return
        }
        if case .identify(let boot) = frame {
            subscriber.boot = boot
            return
        }
        // Room groups' packets go to their host in link order; they are not requests.
        if case .group(let packets) = frame {
            group(packets)
            return
        }
        // Replication and take-over questions are answered here, in frame order and without a
        // task: they never wait (the owner keeps one replication request per room in flight).
        if let reply = answerInline(frame, subscriber) {
            subscriber.push(reply)
            return
        }
        if startInline(frame, subscriber) { return }
        let serve = self.serve
        Task { await serve(frame, subscriber) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let subscriber { closed(subscriber) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if subscriber == nil {
            reject(context.channel, "\(error)")
        } else {
            logger.warning("closing the link from \(subscriber?.nodeID ?? "?"): \(error)")
            context.close(promise: nil)
        }
    }

    /// Closes a link that failed the handshake; counted and logged once per connection.
    private func reject(_ channel: any Channel, _ reason: String) {
        guard !rejected else { return }
        rejected = true
        ClusterMetrics.linkRejected.increment()
        logger.warning("refused an internal link from \(channel.remoteAddress?.description ?? "?"): \(reason)")
        channel.close(promise: nil)
    }
}
