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
    static let slowConsumerCloseCode = WebSocketErrorCode(codeNumber: 4008)

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

    /// Runs one socket: a writer task drains the connection's queue into the socket while `body`
    /// reads. When reading ends, the queue is finished and the writer stops.
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
            id: id, session: session, format: format, capacity: node.limits.outboundQueueFrames
        ) { [channel] in
            // Cut off for not reading: the writer tries to send close 4008; if the socket is
            // still open two seconds later, it is closed without ceremony.
            Counter(label: "chat_slow_consumer_disconnects_total").increment()
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
        Gauge(label: "chat_connections").record(connections.add(1, ordering: .relaxed).newValue)
        defer { Gauge(label: "chat_connections").record(connections.subtract(1, ordering: .relaxed).newValue) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await buffer in connection.frames {
                    try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: buffer)))
                }
                if connection.overflowed {
                    try await outbound.close(slowConsumerCloseCode, reason: "slow consumer: reconnect and resume with since")
                }
            }
            let result: Result<Void, any Error>
            do {
                try await body(connection, inbound.messages(maxSize: node.limits.maxFrameBytes))
                result = .success(())
            } catch {
                result = .failure(error)
            }
            connection.finish()
            if case .failure = result { group.cancelAll() }
            try await group.waitForAll()
            try result.get()
        }
    }
}
