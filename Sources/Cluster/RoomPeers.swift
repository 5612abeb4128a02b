import ChatCore

/// What a room's owner asks of other nodes: to replicate a room, and (when it takes a room over)
/// what they hold of it. `ChatCluster` answers it over internal links; tests wire owners to each
/// other in memory, with crashes and lost replies injected at any step.
public protocol RoomPeers: Sendable {
    /// Sends replication to the room's successor and waits for its answer. Throws when the node
    /// cannot be reached or does not answer in time.
    func replicate(_ request: ReplicationRequest, to node: String) async throws -> ReplicationReply
    /// Asks `node` what it holds of `room` (and, if it still orders the room while `claimer`
    /// owns it on its ring, makes it seal the room and hand it off).
    func claim(room: String, from node: String) async -> ClaimResolver.Answer
}

/// Replication from a room's owner to its successor.
public enum ReplicationRequest: Sendable, Hashable {
    /// Messages after `baseSeq` (the successor must hold exactly `baseSeq`), and the room's
    /// sessions when they changed.
    case append(room: String, epoch: UInt64, baseSeq: UInt64, messages: [ChatMessage], sessions: [NodeSessions]?)
    /// The whole state: the successor replaces what it holds.
    case sync(RoomTransfer)
    /// A sealed room's state, pushed by its old owner to its new owner (a join, a graceful
    /// leave): the receiver keeps it as a candidate for its take-over. Its ack commits nothing.
    case handOff(RoomTransfer)

    public var room: String {
        switch self {
        case .append(let room, _, _, _, _): room
        case .sync(let transfer), .handOff(let transfer): transfer.room
        }
    }
}

/// The successor's answer.
public enum ReplicationReply: Sendable, Hashable {
    /// It holds every message up to `seq`.
    case ack(seq: UInt64)
    /// It needs the whole state first.
    case resync
    /// It refused: the sender is not the room's owner for it (see `ReplicaRules`).
    case stale(String)
}
