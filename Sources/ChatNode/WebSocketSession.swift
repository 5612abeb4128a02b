import ChatCore
import Cluster
import Foundation
import Logging
import Metrics
import NIOCore

/// One `/ws` connection speaking protocol v1: the per-connection state (who said hello, which
/// rooms it joined, its send budget) and what each client frame does.
///
/// Frames of one connection are handled one after another, so a client's answers come in the
/// order of its requests. Answers and room traffic share one outbound queue.
struct WebSocketSession: ClientSession {
    let connection: ClientConnection
    let node: ChatNodeContext
    /// The client's key for the per-address limits (nil: exempt).
    let address: String?
    /// Opened by `hello`; the socket handler closes the connection if it is still shut at the deadline.
    let helloGate: HelloGate
    private(set) var user: String?
    /// The claims of the user's token (auth on): which rooms it may use.
    private var claims: UserClaims?
    private(set) var rooms: Set<String> = []
    private var bucket: TokenBucket

    init(connection: ClientConnection, node: ChatNodeContext, address: String?, hello: HelloGate) {
        self.connection = connection
        self.node = node
        self.address = address
        self.helloGate = hello
        self.bucket = TokenBucket(
            rate: node.limits.sendsPerSecond, burst: node.limits.sendBurst, now: DispatchTime.now().uptimeNanoseconds)
    }

    /// Answers a binary frame: protocol v1 is text only.
    func rejectBinary() {
        reply(error: ProtocolError(.badRequest, "binary frames are not supported; send JSON text frames"))
    }

    /// Handles one text frame.
    mutating func handle(text: String) async {
        let frame: ClientFrame
        switch ClientFrame.decode(text, limits: node.limits) {
        case .failure(let error):
            reply(error: error)
            return
        case .success(let decoded):
            frame = decoded
        }
        guard let user else {
            if case .hello(let user, let token) = frame {
                await hello(user: user, token: token)
            } else {
                reply(error: ProtocolError(.helloFirst, "say hello first", ref: frame.ref, id: frame.messageID))
            }
            return
        }
        do {
            switch frame {
            case .hello:
                throw ProtocolError(.badRequest, "hello was already said on this connection")
            case .join(let room, let since, let ref):
                guard !rooms.contains(room) else {
                    throw ProtocolError(.badRequest, "already joined \(room)", ref: ref)
                }
                guard rooms.count < node.limits.maxRoomsPerConnection else {
                    throw ProtocolError(.badRequest, "a connection may join at most \(node.limits.maxRoomsPerConnection) rooms", ref: ref)
                }
                try allow(room, ref: ref)
                try spend(.read, user: user)
                try await node.cluster.join(room: room, connection: connection, user: user, since: since, ref: ref)
                rooms.insert(room)
            case .send(let room, let id, let text):
                guard rooms.contains(room) else {
                    throw ProtocolError(.notJoined, "join \(room) before sending to it", id: id)
                }
                guard bucket.take(now: DispatchTime.now().uptimeNanoseconds) else {
                    throw ProtocolError(.rateLimited, "too many messages; retry later with the same id", id: id)
                }
                try allow(room, id: id)
                try spend(.send, user: user, id: id)
                let ack = try await node.cluster.send(room: room, user: user, id: id, text: text)
                connection.send(.ack(room: room, id: id, seq: ack.seq))
            case .leave(let room, let ref):
                guard rooms.remove(room) != nil, await node.cluster.leave(room: room, connection: connection, user: user) else {
                    throw ProtocolError(.notJoined, "not joined to \(room)", ref: ref)
                }
                connection.send(.left(room: room, ref: ref))
            case .history(let room, let before, let limit, let ref):
                try allow(room, ref: ref)
                try spend(.read, user: user)
                let messages = try await node.cluster.messages(room: room, before: before, since: nil, limit: limit)
                connection.send(.history(room: room, ref: ref, messages: messages))
            case .ping(let ref):
                connection.send(.pong(ref: ref))
            }
        } catch var error as ProtocolError {
            if error.ref == nil { error.ref = frame.ref }
            if error.id == nil { error.id = frame.messageID }
            reply(error: error)
        } catch {
            node.logger.error("unexpected error: \(error)")
            reply(error: ProtocolError(.internal, "internal error", ref: frame.ref, id: frame.messageID))
        }
    }

    /// Refuses a room the user's token does not list (its `rooms` claim).
    private func allow(_ room: String, ref: JSONValue? = nil, id: String? = nil) throws {
        guard claims?.allows(room) ?? true else {
            throw ProtocolError(.unauthorized, "your token does not allow room \(room)", ref: ref, id: id)
        }
    }

    /// Spends from the user's and the address's budgets across connections (`ClientGuard`).
    private func spend(_ request: ClientGuard.Request, user: String, id: String? = nil) throws {
        if let refusal = node.clientGuard.allow(request, user: user, address: address) {
            throw ProtocolError(.rateLimited, refusal.message(retry: id != nil), id: id)
        }
    }

    private mutating func hello(user: String, token: String?) async {
        if let auth = node.auth {
            do {
                claims = try await auth.check(token: token, user: user)
            } catch {
                reply(error: ProtocolError(.unauthorized, error.description))
                return
            }
        }
        self.user = user
        helloGate.open()
        connection.send(.welcome(user: user, node: node.nodeID, session: connection.session))
    }

    private func reply(error: ProtocolError) {
        Counter(label: "chat_errors_total", dimensions: [("code", error.code.rawValue)]).increment()
        connection.send(.error(error))
    }

    func start() async -> Bool { true }

    /// Leaves every joined room (the socket closed).
    func end() async {
        guard let user else { return }
        for room in rooms {
            _ = await node.cluster.leave(room: room, connection: connection, user: user)
        }
    }
}
