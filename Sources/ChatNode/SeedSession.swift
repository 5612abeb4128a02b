import ChatCore
import Cluster
import Dispatch
import Metrics

/// A `/ws/{room}/{client_id}` connection, for the simple front ends of the original tutorials:
/// every text frame is posted to the room as `client_id`, and every message of the room comes
/// back as `[YYYY-MM-DD HH:MM:SS] text (user)`. There are no acks and no error frames: input the
/// protocol would refuse (empty, too long, over the rate) is dropped and counted.
struct SeedSession: ClientSession {
    let connection: ClientConnection
    let node: ChatNodeContext
    let room: String
    let user: String
    /// `?token=`: with auth on, the seed route takes the user's JWT in the query, because the
    /// tutorials' pages cannot set headers on a WebSocket.
    let token: String?
    /// The client's key for the per-address limits (nil: exempt).
    let address: String?
    /// Why the connection is refused right after the upgrade (close 1008), if it is.
    let refusal: String?
    private var bucket: TokenBucket
    private var counter: UInt64 = 0
    private var joined = false

    init(
        connection: ClientConnection, node: ChatNodeContext, room: String, user: String, token: String?, address: String?, refusal: String?
    ) {
        self.connection = connection
        self.node = node
        self.room = room
        self.user = user
        self.address = address
        self.token = token
        self.refusal = refusal
        self.bucket = TokenBucket(
            rate: node.limits.sendsPerSecond, burst: node.limits.sendBurst, now: DispatchTime.now().uptimeNanoseconds)
    }

    mutating func start() async -> Bool {
        if let refusal {
            connection.close(code: 1008, reason: refusal)
            return false
        }
        if let auth = node.auth {
            do {
                let claims = try await auth.check(token: token, user: user)
                guard claims.allows(room) else {
                    connection.close(code: 1008, reason: "unauthorized: the token does not allow this room")
                    return false
                }
            } catch {
                connection.close(code: 1008, reason: "unauthorized: \(error.description) (add ?token= for this client id)")
                return false
            }
        }
        if let refusal = node.clientGuard.allow(.read, user: user, address: address) {
            connection.close(code: 1008, reason: refusal.message(retry: false))
            return false
        }
        do {
            try await node.cluster.join(room: room, connection: connection, user: user, since: nil, ref: nil, announce: false)
            joined = true
            return true
        } catch {
            connection.close(code: 1011, reason: "the room is unavailable; reconnect")
            return false
        }
    }

    mutating func handle(text: String) async {
        guard !text.isEmpty, text.utf8.count <= node.limits.maxTextBytes, text.count <= node.limits.maxTextLength,
            bucket.take(now: DispatchTime.now().uptimeNanoseconds),
            node.clientGuard.allow(.send, user: user, address: address) == nil
        else {
            Counter(label: "chat_seed_dropped_total").increment()
            return
        }
        counter += 1
        _ = try? await node.cluster.send(room: room, user: user, id: "seed:\(connection.session):\(counter)", text: text)
    }

    func rejectBinary() {}

    mutating func end() async {
        guard joined else { return }
        joined = false
        _ = await node.cluster.leave(room: room, connection: connection, user: user)
    }
}
