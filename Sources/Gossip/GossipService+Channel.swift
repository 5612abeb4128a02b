import NIOCore
import NIOPosix

extension GossipService {
    /// Binds the UDP channel, with `GossipInboundHandler` in its pipeline. Called by `run()`.
    func bind() async throws -> any Channel {
        // No SO_REUSEADDR: on Linux it would let a second node bind the same UDP port silently.
        try await DatagramBootstrap(group: GossipService.eventLoopGroup)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(GossipInboundHandler(service: self))
                }
            }
            .bind(host: configuration.bindHost, port: configuration.bindPort)
            .get()
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
