import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// The limit to compare the product with: one process, NIO WebSocket on `GET /ws`, every `send`
/// written to every connection that joined the same room (see `BroadcastHandler` for exactly
/// what it answers, `BroadcastHub` for the rooms). No cluster, no history, no presence.
///
/// Other paths are not upgraded and get no answer; the server exists for chat-bench only.
final class BroadcastServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel

    private init(group: MultiThreadedEventLoopGroup, channel: any Channel) {
        self.group = group
        self.channel = channel
    }

    /// The port actually bound (useful with port 0).
    var port: Int { channel.localAddress?.port ?? 0 }

    /// Binds `host:port` with `threads` event loops.
    static func start(host: String, port: Int, threads: Int) async throws -> BroadcastServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let hub = BroadcastHub()
        let outboxes = group.makeIterator().map { LoopOutbox(loop: $0) }
        let nextID = Atomic<Int>(0)
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 16,
            shouldUpgrade: { channel, head in
                channel.eventLoop.makeSucceededFuture(head.uri == "/ws" ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    guard let outbox = outboxes.first(where: { $0.loop === channel.eventLoop }) else {
                        throw BenchError("channel on an unknown event loop")
                    }
                    let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(
                        NIOWebSocketFrameAggregator(
                            minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: 1 << 16))
                    try operations.addHandler(BroadcastHandler(hub: hub, outbox: outbox, id: id))
                }
            })
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 4096)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                            withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                    }
                }
                .bind(host: host, port: port).get()
            return BroadcastServer(group: group, channel: channel)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Runs until the listening socket closes (the process is normally stopped by a signal).
    func waitUntilClosed() async throws {
        try await channel.closeFuture.get()
        try await group.shutdownGracefully()
    }
}
