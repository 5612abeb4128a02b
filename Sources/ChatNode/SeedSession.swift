import ChatCore
import Cluster
import Dispatch
import HummingbirdWebSocket
import Metrics

/// A `/ws/{room}/{client_id}` connection, for the simple front ends of the original tutorials:
/// every text frame is posted to the room as `client_id`, and every message of the room comes
/// back as `[YYYY-MM-DD HH:MM:SS] text (user)`. There are no acks and no error frames: input the
/// protocol would refuse (empty, too long, over the rate) is dropped and counted.
struct SeedSession {
    let connection: ClientConnection
    let node: ChatNodeContext
    let room: String
    let user: String
    private var bucket: TokenBucket
    private var counter: UInt64 = 0

    init(connection: ClientConnection, node: ChatNodeContext, room: String, user: String) {
        self.connection = connection
        self.node = node
        self.room = room
        self.user = user
        self.bucket = TokenBucket(
            rate: node.limits.sendsPerSecond, burst: node.limits.sendBurst, now: DispatchTime.now().uptimeNanoseconds)
    }

    mutating func run(_ messages: WebSocketInboundMessageStream) async throws {
        try await node.cluster.join(room: room, connection: connection, user: user, since: nil, ref: nil, announce: false)
        do {
            try await read(messages)
        } catch {
            _ = await node.cluster.leave(room: room, connection: connection, user: user)
            throw error
        }
        _ = await node.cluster.leave(room: room, connection: connection, user: user)
    }

    private mutating func read(_ messages: WebSocketInboundMessageStream) async throws {
        for try await message in messages {
            guard case .text(let text) = message else { continue }
            guard !text.isEmpty, text.count <= node.limits.maxTextLength,
                bucket.take(now: DispatchTime.now().uptimeNanoseconds)
            else {
                Counter(label: "chat_seed_dropped_total").increment()
                continue
            }
            counter += 1
            _ = try? await node.cluster.send(room: room, user: user, id: "seed:\(connection.session):\(counter)", text: text)
        }
    }
}
