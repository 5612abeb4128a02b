/// Everything that can happen to one replica of a room. Time comes with the event
/// (`RoomGroup.handle(_:now:)`); nothing else is read from the outside world.
public enum GroupEvent: Sendable, Hashable {
    /// A client sends `text` with its id; the answer is `reply(request, …)`.
    case send(request: UInt64, user: String, id: String, text: String)
    /// A join wants a read barrier: the answer says which seq the room is committed through, as
    /// confirmed by a majority of the group after the request arrived.
    case readBarrier(request: UInt64)
    /// A packet from another replica of this room.
    case packet(GroupPacket)
    /// Gossip's current view: the incarnations it believes alive (this replica is always alive).
    case liveness(Set<ReplicaID>)
    /// The room's placement: its R roster members in ring order.
    case placement([String])
    /// A time asked for with `schedule(at:)` has come (early or extra timers are harmless).
    case timer
    /// An operator rebuilds a group that lost a majority of its voters for good from this
    /// replica (the most advanced survivor) and `store`, the history store's messages of the room
    /// after this replica's committed seq; `skip` seqs are left unused after the last known one.
    /// The answer is `recovered` or `refused`.
    case recover(request: UInt64, store: [GroupChatMessage], skip: UInt64)
    /// This process is shutting down gracefully: a leader steps down (telling its followers, so
    /// that the next voter takes over at once), and the replica never campaigns again.
    case retire
    /// The users with sessions in the room through `node` changed (a user's first session there
    /// joined, its last left, the node subscribed again with all of them, or it is gone: none).
    /// A leader appends the difference to the log; any other replica ignores it (the node tells
    /// the leader).
    case presence(node: String, PresenceUpdate)
}

/// What the caller must do after an event, in order.
public enum GroupAction: Sendable, Hashable {
    case send(to: String, GroupPacket)
    /// These messages are committed (every replica reports each once, in seq order).
    case commit([GroupChatMessage])
    /// Messages `afterSeq + 1 ... throughSeq` were committed, but this replica received them only
    /// as part of a snapshot: the shell reads them from the history store to deliver them.
    case gap(afterSeq: UInt64, throughSeq: UInt64)
    /// Seqs `afterSeq + 1 ... throughSeq` were skipped by an operator's recovery: any message
    /// acked there was lost with the group's majority. The shell tells clients; none will exist.
    case lost(afterSeq: UInt64, throughSeq: UInt64)
    /// Committed presence changes, in log order with the messages around them.
    case presence([PresenceChange])
    /// This replica learned the committed state from a snapshot: presence is now `table`.
    case presenceTable(PresenceTable)
    /// The leader writes committed messages to the history cache (after commit, off the ack path).
    case persist([GroupChatMessage])
    case reply(request: UInt64, GroupReply)
    /// Deliver `.timer` at this time (ns).
    case schedule(at: UInt64)
}

/// The answer to a client request.
public enum GroupReply: Sendable, Hashable {
    /// A majority of the group holds the message at `seq`.
    case acked(seq: UInt64)
    /// A retry: the message was already sequenced (and is now committed) at `seq`.
    case duplicate(seq: UInt64)
    /// Read barrier passed: the room is committed through `seq`.
    case readable(seq: UInt64)
    /// No majority reachable, or the request timed out; retrying with the same id is safe.
    case unavailable
    /// Ask this node instead.
    case notLeader(hint: String)
    /// The group was rebuilt: this replica held the room through `lostAfter`; seqs up to
    /// `resumeAfter` are skipped (messages acked there may be lost); new messages follow.
    case recovered(lostAfter: UInt64, resumeAfter: UInt64)
    /// An operator request was refused, with why.
    case refused(String)
}
