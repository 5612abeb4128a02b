import ChatCore

/// What orders rooms on this node and answers client requests for them: `RoomOwner` (successor
/// replication) or `GroupRooms` (majority groups). The cluster serves local and forwarded
/// requests through it without knowing which.
protocol RoomOrdering: Sendable {
    func join(
        room: String, user: String, since: UInt64?, subscriber: any RoomSubscriber,
        reply: @escaping @Sendable (RoomSnapshot) -> Void
    ) async throws
    func leave(room: String, user: String, node: String) async throws
    func send(room: String, user: String, id: String, text: String) async throws -> (seq: UInt64, duplicate: Bool)
    func messages(room: String, before: UInt64?, since: UInt64?, limit: Int) async throws -> RoomSnapshot
    func info(room: String) async throws -> RoomSnapshot
    func resubscribe(
        room: String, since: UInt64, sessions: [UserSessions], subscriber: any RoomSubscriber,
        reply: @escaping @Sendable (RoomSnapshot) -> Void
    ) async throws
}

extension RoomOwner: RoomOrdering {}
extension GroupRooms: RoomOrdering {}
