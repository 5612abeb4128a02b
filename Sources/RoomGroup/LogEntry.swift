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
        if case .config(let config) = payload { return config }
        return nil
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
