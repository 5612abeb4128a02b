import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// One WebSocket connection to a chat node, speaking protocol v1 (PROTOCOL.md).
///
/// Every method may be called from any thread. Outgoing frames are queued and written by one task
/// per event-loop tick that writes everything queued and flushes once, so a caller sending
/// thousands of frames per second costs one flush per tick, not one per frame. Frames are masked
/// (RFC 6455 client rule).
///
/// Server frames are decoded on the connection's event loop and handed to `onEvent` there, in
/// order, with no `Task` per frame: keep `onEvent` cheap.
public final class ChatClientConnection: Sendable {
    /// Frames waiting for the next write tick.
    private struct PendingWrites {
        var payloads: [ByteBuffer] = []
        var scheduled = false
    }

    private let channel: any Channel
    private let handler: NIOLoopBound<WebSocketClientHandler>
    private let pending = Mutex(PendingWrites())

    private init(channel: any Channel, handler: WebSocketClientHandler) {
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
    }

    /// The event loop the connection's I/O and `onEvent` run on.
    public var eventLoop: any EventLoop { channel.eventLoop }

    /// Connects and completes the WebSocket upgrade. `onEvent` runs on the connection's event loop
    /// for every server frame, in order. `onClose` runs once with the close code the server sent
    /// (or echoed), nil when the TCP connection just dropped.
    public static func connect(
        _ configuration: ChatClientConfiguration,
        group: any EventLoopGroup,
        onEvent: @escaping @Sendable (ServerEvent) -> Void,
        onClose: @escaping @Sendable (Int?) -> Void
    ) async throws -> ChatClientConnection {
        let timeout = TimeAmount.nanoseconds(Int64(configuration.connectTimeout / .nanoseconds(1)))
        let (channel, upgraded) = try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let future = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: pipelineConfiguration(configuration, onEvent: onEvent, onClose: onClose))
                    return (channel, future)
                }
            }
        let timedOut = TimeoutFlag()
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            timedOut.fired.store(true, ordering: .relaxed)
            channel.close(promise: nil)
        }
        do {
            let connection = try await upgraded.get()
            deadline.cancel()
            return connection
        } catch {
            deadline.cancel()
            channel.close(promise: nil)
            throw timedOut.fired.load(ordering: .relaxed) ? ChatClientError.timedOut : error
        }
    }

    private static func pipelineConfiguration(
        _ configuration: ChatClientConfiguration,
        onEvent: @escaping @Sendable (ServerEvent) -> Void,
        onClose: @escaping @Sendable (Int?) -> Void
    ) -> NIOUpgradableHTTPClientPipelineConfiguration<ChatClientConnection> {
        let upgrader = NIOTypedWebSocketClientUpgrader<ChatClientConnection>(
            maxFrameSize: configuration.maxFrameSize
        ) { channel, _ in
            channel.eventLoop.makeCompletedFuture {
                let handler = WebSocketClientHandler(onEvent: onEvent, onClose: onClose)
                try channel.pipeline.syncOperations.addHandler(handler)
                return ChatClientConnection(channel: channel, handler: handler)
            }
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(configuration.host):\(configuration.port)")
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: configuration.path, headers: headers)
        let upgrade = NIOTypedHTTPClientUpgradeConfiguration<ChatClientConnection>(
            upgradeRequestHead: head,
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeFailedFuture(ChatClientError.upgradeRejected)
            }
        )
        var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrade)
        pipeline.leftOverBytesStrategy = .forwardBytes
        return pipeline
    }

    /// Set when the upgrade deadline fired.
    private final class TimeoutFlag: Sendable {
        let fired = Atomic<Bool>(false)
    }

    // MARK: - Protocol frames

    public func hello(user: String, token: String?) {
        enqueue(ClientFrames.hello(user: user, token: token))
    }

    public func join(room: String, since: UInt64?, ref: String?) {
        enqueue(ClientFrames.join(room: room, since: since, ref: ref))
    }

    public func send(room: String, id: String, text: String) {
        enqueue(ClientFrames.send(room: room, id: id, text: text))
    }

    public func leave(room: String, ref: String?) {
        enqueue(ClientFrames.leave(room: room, ref: ref))
    }

    public func history(room: String, before: UInt64?, limit: Int?, ref: String?) {
        enqueue(ClientFrames.history(room: room, before: before, limit: limit, ref: ref))
    }

    public func ping(ref: String?) {
        enqueue(ClientFrames.ping(ref: ref))
    }

    /// Sends `text` as one text frame, as it is (for tests and abuse).
    public func writeText(_ text: String) {
        enqueue(ByteBuffer(string: text))
    }

    /// Sends a close frame (code 1000); the connection closes when the server answers it, or
    /// after two seconds. `onClose` then runs.
    public func close() {
        let handler = self.handler
        channel.eventLoop.execute {
            self.drain()
            handler.value.sendClose()
        }
    }

    /// Drops the TCP connection without a close frame (as if the client vanished).
    public func abort() {
        channel.close(promise: nil)
    }

    /// True while the TCP connection is open.
    public var isActive: Bool { channel.isActive }

    // MARK: - Write coalescing

    private func enqueue(_ bytes: [UInt8]) {
        enqueue(ByteBuffer(bytes: bytes))
    }

    private func enqueue(_ payload: ByteBuffer) {
        let mustSchedule = pending.withLock { pending in
            pending.payloads.append(payload)
            defer { pending.scheduled = true }
            return !pending.scheduled
        }
        if mustSchedule {
            channel.eventLoop.execute { self.drain() }
        }
    }

    /// Writes everything queued and flushes once. Runs on the event loop.
    private func drain() {
        let payloads = pending.withLock { pending in
            pending.scheduled = false
            defer { pending.payloads.removeAll(keepingCapacity: true) }
            return pending.payloads
        }
        guard !payloads.isEmpty else { return }
        handler.value.write(payloads)
    }
}
