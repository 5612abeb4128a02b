import ChatCore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

#if canImport(Glibc)
    import Glibc
#endif

/// The node's HTTP/1.1 connections: Hummingbird serves HTTP requests (the router), and a request
/// to a WebSocket route (`WebSocketRoutes`) is upgraded to a pipeline of plain NIO handlers.
///
/// This is Hummingbird's `HTTP1WebSocketUpgradeChannel` with one difference: an upgraded
/// connection is not served by a task that lives as long as the socket, so an idle client costs
/// its channel and a few small objects, not a suspended task stack (about 25 KB per connection
/// with Hummingbird's WebSocket handler, measured with heaptrack).
struct ChatServerChannel: ServerChildChannel, HTTPChannelHandler {
    enum UpgradeResult: Sendable {
        case websocket
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let node: ChatNodeContext
    let http1: HTTP1Channel.Configuration

    /// Dead clients (gone without closing) are found by TCP keepalive: probes after 60 s idle,
    /// every 10 s, 3 unanswered ones close the socket. This costs no memory per connection, unlike
    /// a ping task per socket.
    static let keepalive: [(ChannelOptions.Types.SocketOption, SocketOptionValue)] = [
        (.init(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_KEEPALIVE)), 1),
        (.init(level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_KEEPIDLE)), 60),
        (.init(level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_KEEPINTVL)), 10),
        (.init(level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_KEEPCNT)), 3),
    ]

    /// A connection refused at accept (over a connection limit) or at its upgrade (origin, path);
    /// `handle` sees it as an error.
    struct Refused: Error {}

    /// Admits the connection (`ClientGuard`: node-wide and per-address connection limits; over
    /// them it is answered 503 or 429 and closed before any HTTP is parsed), then builds the HTTP
    /// pipeline with its upgrade to WebSocket. A connection that has not sent a complete request
    /// head within `requestHeadTimeoutSeconds` is answered 408 and closed (a slow-loris client
    /// holds nothing for long); later requests on it are bounded by the HTTP idle timeout.
    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let node = self.node
            let clientGuard = node.clientGuard
            for (option, value) in Self.keepalive {
                try? channel.syncOptions?.setOption(option, value: value)
            }
            let raw = RawFrameWriter()
            try channel.pipeline.syncOperations.addHandler(raw, position: .first)
            let address = clientGuard.addressKey(channel.remoteAddress)
            if let refusal = clientGuard.admit(address) {
                raw.writeAndClose(RawHTTPResponse.refusal(refusal, limits: node.limits))
                return Value(upgradeResult: channel.eventLoop.makeFailedFuture(Refused()), channel: channel)
            }
            raw.releaseOnClose { clientGuard.release(address) }
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: node.limits.maxFrameBytes,
                enableAutomaticErrorHandling: true,
                shouldUpgrade: { channel, head in
                    // Refusals are answered here, as raw HTTP: declining an upgrade (nil) loses the
                    // request head in NIO's typed upgrade handler, and the client would get no answer.
                    let origin = head.headers.first(name: "Origin")
                    if !node.origins.allows(origin: origin, host: head.headers.first(name: "Host")) {
                        raw.writeAndClose(
                            RawHTTPResponse.bytes(
                                status: 403, reason: "Forbidden", code: .forbidden,
                                message: "WebSocket connections from the web origin \(origin ?? "") are not allowed here"))
                        return channel.eventLoop.makeFailedFuture(Refused())
                    }
                    if WebSocketRoutes.route(uri: head.uri) == nil {
                        raw.writeAndClose(
                            RawHTTPResponse.bytes(
                                status: 404, reason: "Not Found", code: .notFound, message: "no WebSocket route at this path"))
                        return channel.eventLoop.makeFailedFuture(Refused())
                    }
                    return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
                },
                upgradePipelineHandler: { channel, head in
                    channel.eventLoop.makeCompletedFuture {
                        guard let route = WebSocketRoutes.route(uri: head.uri) else { throw ChannelError.inappropriateOperationForState }
                        try WebSocketRoutes.install(route, on: channel, raw: raw, address: address, node: node)
                        return UpgradeResult.websocket
                    }
                })
            let upgrade = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandlers(self.http1.additionalChannelHandlers())
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: self.http1.idleTimeout.map { .init($0) }, logger: logger))
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        return UpgradeResult.notUpgraded(asyncChannel)
                    }
                })
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(upgradeConfiguration: upgrade)
            configuration.enablePipelining = false  // HTTP is pipelined by NIOAsyncChannel
            configuration.enableErrorHandling = false  // Hummingbird handles these
            configuration.enableResponseHeaderValidation = false  // swift-http-types validates
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            let limits = node.limits
            let headDeadline = channel.eventLoop.assumeIsolated().scheduleTask(
                in: .nanoseconds(Int64(limits.requestHeadTimeoutSeconds * 1e9))
            ) {
                clientGuard.counted(.requestHeadTimeout)
                raw.writeAndClose(RawHTTPResponse.refusal(.requestHeadTimeout, limits: limits))
            }
            // The upgrade result completes once the head is read (or the connection fails); a
            // timer that fires on a closed connection finds no writer and does nothing.
            result.whenComplete { _ in headDeadline.cancel() }
            return Value(upgradeResult: result, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .notUpgraded(let http1):
                await handleHTTP(asyncChannel: http1, logger: logger)
            case .websocket:
                // Served by the channel's handlers from here on; no task waits for it.
                return
            }
        } catch {
            logger.debug("connection ended during the upgrade: \(error)")
        }
    }
}
