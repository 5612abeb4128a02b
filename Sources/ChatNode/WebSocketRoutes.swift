import ChatCore
import Cluster
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Metrics
import NIOCore
import NIOWebSocket
import Synchronization

/// The request context of WebSocket routes: Hummingbird's basic one, plus the channel, so that a
/// client that stops reading can be cut off even when no frame can reach it any more.
struct ChatRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<ChatRequestContext>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}

/// `/ws` (protocol v1) and `/ws/{room}/{client_id}` (seed-compatible).
enum WebSocketRoutes {
    static let connections = Atomic<Int>(0)

    static func add(to router: Router<ChatRequestContext>, node: ChatNodeContext) {
        router.ws("/ws") { inbound, outbound, context in
            try await serve(format: .json, node: node, channel: context.requestContext.channel, inbound: inbound, outbound: outbound) {
                connection, messages in
                var session = WebSocketSession(connection: connection, node: node)
                do {
                    for try await message in messages {
                        switch message {
                        case .text(let text): await session.handle(text: text)
                        case .binary: session.rejectBinary()
                        }
                    }
                } catch {
                    await session.disconnect()
                    throw error
                }
                await session.disconnect()
            }
        }
        router.ws("/ws/:room/:client") { inbound, outbound, context in
            let parameters = context.requestContext.parameters
            let room = parameters.get("room").flatMap { $0.removingPercentEncoding } ?? ""
            let user = parameters.get("client").flatMap { $0.removingPercentEncoding } ?? ""
            guard Validation.isValidRoom(room), Validation.isValidUser(user) else {
                try await outbound.close(.policyViolation, reason: "invalid room or client id")
                return
            }
            // With auth on, the seed route takes the user's token as `?token=`.
            if let auth = node.auth, !auth.isValid(token: context.request.uri.queryParameters.get("token"), for: user) {
                try await outbound.close(.policyViolation, reason: "unauthorized: add ?token= for this client id")
                return
            }
            try await serve(format: .seed, node: node, channel: context.requestContext.channel, inbound: inbound, outbound: outbound) {
                connection, messages in
                var session = SeedSession(connection: connection, node: node, room: room, user: user)
                try await session.run(messages)
            }
        }
    }

    /// Runs one socket: frames to the client are written straight to its channel
    /// (`WebSocketTransport`) while `body` reads; when reading ends, nothing more is written.
    static func serve(
        format: ClientConnection.Format,
        node: ChatNodeContext,
        channel: any Channel,
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        body: @escaping (ClientConnection, WebSocketInboundMessageStream) async throws -> Void
    ) async throws {
        let (id, session) = node.newSession()
        let connection = ClientConnection(
            id: id, session: session, format: format, capacity: node.limits.outboundQueueFrames,
            transport: WebSocketTransport(channel: channel))
        Gauge(label: "chat_connections").record(connections.add(1, ordering: .relaxed).newValue)
        defer {
            connection.finish()
            Gauge(label: "chat_connections").record(connections.subtract(1, ordering: .relaxed).newValue)
        }
        try await body(connection, inbound.messages(maxSize: node.limits.maxFrameBytes))
    }
}
