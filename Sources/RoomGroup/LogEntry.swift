/// One entry of a room's replicated log. Its index is its position (from 1).
///
/// `(epoch, index)` identifies an entry: the leader of an epoch creates at most one entry per
/// index and never rewrites its own log (Raft's Log Matching property).
public struct LogEntry: Sendable, Hashable {
    public enum Payload: Sendable, Hashable {
        /// A chat message; its `seq` is the number of messages up to and including it.
        case message(GroupChatMessage)
        /// Appended by every new leader: committing it commits all earlier entries (Raft §5.4.2).
        case noop
        /// The group's voters from this entry on.
        case config(GroupConfig)
        /// An operator rebuilt the group from one surviving replica (`RoomGroup+Recovery`): the
        /// voters from here on, and seqs that may have been acked and lost, never reused.
        case recovery(Recovery)
        /// Users arriving at or leaving nodes' presence (`PresenceTable`), applied in order.
        case presence([PresenceChange])
    }

    public var epoch: Epoch
    public var payload: Payload

    public init(epoch: Epoch, payload: Payload) {
        self.epoch = epoch
        self.payload = payload
    }

    public var message: GroupChatMessage? {
        if case .message(let message) = payload { return message }
        return nil
    }

    public var config: GroupConfig? {
        switch payload {
        case .config(let config): config
        case .recovery(let recovery): recovery.config
        default: nil
        }
    }

    public var recovery: Recovery? {
        if case .recovery(let recovery) = payload { return recovery }
        return nil
    }

    public var presence: [PresenceChange]? {
        if case .presence(let changes) = payload { return changes }
        return nil
    }

    /// The room's last seq once this entry is applied, if the entry sets it: a message's own
    /// seq, or the end of the seqs a recovery skipped.
    public var seqAfter: UInt64? {
        switch payload {
        case .message(let message): message.seq
        case .recovery(let recovery): recovery.resumeAfter
        default: nil
        }
    }
}

/// What a recovery entry says: the group restarts with `config`; the replica it was rebuilt from
/// held the room through seq `lostAfter`; seqs `lostAfter + 1 ... resumeAfter` may have been
/// acked by the lost majority and are never given to a new message.
public struct Recovery: Sendable, Hashable {
    public var config: GroupConfig
    public var lostAfter: UInt64
    public var resumeAfter: UInt64

    public init(config: GroupConfig, lostAfter: UInt64, resumeAfter: UInt64) {
        self.config = config
        self.lostAfter = lostAfter
        self.resumeAfter = resumeAfter
    }
}

/// A chat message as the room's log holds it (the room name is the group's).
public struct GroupChatMessage: Sendable, Hashable {
    public var seq: UInt64
    public var user: String
    public var id: String
    public var text: String
    /// The leader's clock in ms, never below the previous message's.
    public var ts: Int64

    public init(seq: UInt64, user: String, id: String, text: String, ts: Int64) {
        self.seq = seq
        self.user = user
        self.id = id
        self.text = text
        self.ts = ts
    }
}
