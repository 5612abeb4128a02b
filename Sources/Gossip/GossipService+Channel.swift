import Logging
import Metrics
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension GossipService {
    /// Binds the gossip socket (`GossipSocket`: sends bypass the channel) and the UDP channel
    /// that reads it, with `GossipInboundHandler` in its pipeline. Called by `run()`.
    func bind() async throws -> (any Channel, GossipSocket) {
        let (socket, descriptor) = try GossipSocket.bind(host: configuration.bindHost, port: configuration.bindPort)
        let channel = try await DatagramBootstrap(group: GossipService.eventLoopGroup)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(GossipInboundHandler(service: self))
                }
            }
            .withBoundSocket(descriptor)
            .get()
        return (channel, socket)
    }

    /// A channel that closes while gossip runs (a read error NIO treats as fatal) is replaced by
    /// a new socket on the same port, so that the node is never left deaf.
    func watch(_ channel: any Channel) {
        channel.closeFuture.whenComplete { [self] _ in
            let replace = state.withLock { s in
                (s.phase == .running || s.phase == .leaving) && s.channel === channel
            }
            guard replace else { return }
            logger.error("the gossip socket closed unexpectedly: binding it again")
            Task { await rebind() }
        }
    }

    private func rebind() async {
        var delay: Duration = .milliseconds(100)
        while state.withLock({ $0.phase == .running || $0.phase == .leaving }) {
            do {
                let (channel, socket) = try await bind()
                let keep = state.withLock { s -> Bool in
                    guard s.phase == .running || s.phase == .leaving else { return false }
                    s.channel = channel
                    s.socket = socket
                    return true
                }
                if keep {
                    watch(channel)
                } else {
                    try? await channel.close()
                }
                return
            } catch {
                logger.error("cannot bind the gossip socket again: \(error); retrying in \(delay)")
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    /// A datagram could not be sent (a blackhole route, no route, a firewall): counted, logged
    /// at most once per destination every few seconds; gossip to the others is unaffected.
    func sendFailed(to destination: GossipAddress, errno error: CInt) {
        metrics.sendErrors.increment()
        let name = Self.errnoName(error)
        let log = state.withLock { s in
            s.sendErrors += 1
            return s.health.sendFailed(to: destination, error: name, now: Self.now())
        }
        if log {
            logger.warning(
                "gossip send failed", metadata: ["to": "\(destination)", "error": "\(name) (\(String(cString: strerror(error))))"])
        }
    }

    /// Resolves DNS names off the event loop (getaddrinfo blocks), then stores the answers.
    func resolveInBackground(_ targets: [GossipAddress]) {
        for target in targets {
            NIOThreadPool.singleton.submit { [self] _ in
                let address = try? SocketAddress.makeAddressResolvingHost(target.host, port: target.port)
                if address == nil { logger.warning("cannot resolve gossip address \(target)") }
                state.withLock { $0.resolver.store(address, for: target, now: Self.now()) }
            }
        }
    }

    static func errnoName(_ code: CInt) -> String {
        switch code {
        case EINVAL: "EINVAL"
        case EHOSTUNREACH: "EHOSTUNREACH"
        case ENETUNREACH: "ENETUNREACH"
        case EPERM: "EPERM"
        case EACCES: "EACCES"
        case EAGAIN: "EAGAIN"
        case ECONNREFUSED: "ECONNREFUSED"
        case EMSGSIZE: "EMSGSIZE"
        case ENOBUFS: "ENOBUFS"
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        default: "errno \(code)"
        }
    }
}

private final class GossipInboundHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let service: GossipService

    init(service: GossipService) { self.service = service }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        var buffer = envelope.data
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        let from = GossipAddress(host: envelope.remoteAddress.ipAddress ?? "", port: envelope.remoteAddress.port ?? 0)
        service.received(bytes, from: from)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP errors and the like: UDP goes on.
    }
}
