import ChatCore
import Cluster
import Foundation
import Metrics
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Synchronization

/// `/ws` (protocol v1) and `/ws/{room}/{client_id}` (seed-compatible): which upgrade requests are
/// accepted, and the NIO pipeline a client WebSocket then runs on (`ChatWebSocketHandler` feeding
/// a `SessionRunner`; frames out through `WebSocketTransport`). No task lives per connection.
enum WebSocketRoutes {
    static let connections = Atomic<Int>(0)

    /// What an upgrade request asks for.
    enum Route: Sendable, Equatable {
        case protocolV1
        case seed(room: String, user: String, token: String?)
    }

    /// The route of a request target (path and query), nil for anything that is not a WebSocket
    /// route (the HTTP router answers it: 404).
    static func route(uri: String) -> Route? {
        let components = URLComponents(string: uri)
        let path = components?.percentEncodedPath ?? uri
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard parts.first == "ws" else { return nil }
        switch parts.count {
        case 1: return .protocolV1
        case 3:
            let room = String(parts[parts.startIndex + 1]).removingPercentEncoding ?? ""
            let user = String(parts[parts.startIndex + 2]).removingPercentEncoding ?? ""
            let token = components?.queryItems?.first { $0.name == "token" }?.value
            return .seed(room: room, user: user, token: token)
        default: return nil
        }
    }

    /// Installs the client session on an upgraded channel (on its event loop). `raw` is the
    /// connection's head-end writer; `address` its key for the per-address limits.
    static func install(_ route: Route, on channel: any Channel, raw: RawFrameWriter, address: String?, node: ChatNodeContext) throws {
        let (id, session) = node.newSession()
        let format: ClientConnection.Format = if case .seed = route { .seed } else { .json }
        let connection = ClientConnection(
            id: id, session: session, format: format, capacity: node.limits.outboundQueueFrames,
            transport: WebSocketTransport(channel: channel, raw: raw))
        Gauge(label: "chat_connections").record(connections.add(1, ordering: .relaxed).newValue)
        let closed: () -> Void = {
            connection.finish()
            Gauge(label: "chat_connections").record(connections.subtract(1, ordering: .relaxed).newValue)
        }
        let sync = channel.pipeline.syncOperations
        switch route {
        case .protocolV1:
            let hello = HelloGate()
            let session = WebSocketSession(connection: connection, node: node, address: address, hello: hello)
            let runner = SessionRunner(session: session, channel: channel)
            try sync.addHandler(
                ChatWebSocketHandler(
                    runner: runner, maxMessageBytes: node.limits.maxFrameBytes, clientGuard: node.clientGuard, hello: hello,
                    onClose: closed))
        case .seed(let room, let clientID, let token):
            let normalized = Validation.normalizedUser(clientID)
            let user = normalized ?? clientID
            let refusal: String? = !Validation.isValidRoom(room) || normalized == nil ? "invalid room or client id" : nil
            let seed = SeedSession(
                connection: connection, node: node, room: room, user: user, token: token, address: address, refusal: refusal)
            let runner = SessionRunner(session: seed, channel: channel)
            try sync.addHandler(
                ChatWebSocketHandler(
                    runner: runner, maxMessageBytes: node.limits.maxFrameBytes, clientGuard: node.clientGuard, hello: nil,
                    onClose: closed))
        }
    }
}
