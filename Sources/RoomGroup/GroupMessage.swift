/// What replicas of one room send each other. Every packet names its room and its sender.
public struct GroupPacket: Sendable, Hashable {
    public var room: String
    public var from: ReplicaID
    public var message: GroupMessage

    public init(room: String, from: ReplicaID, message: GroupMessage) {
        self.room = room
        self.from = from
        self.message = message
    }
}

/// The typed requests and replies of the room protocol.
public enum GroupMessage: Sendable, Hashable {
    /// A candidate asks for a promise of `epoch`, and for the log after `from` (its commit index).
    /// `voters` is the candidate's latest configuration (it lifts a lagging replica's loyalty to
    /// a leader that configuration removed).
    case prepare(epoch: Epoch, from: Int, voters: [ReplicaID])
    /// The answer to `prepare`. Granted, it carries the replier's log tail after `from`.
    case promise(Promise)
    /// The leader's entries after `(prevIndex, prevEpoch)`, and its commit index.
    case append(Append)
    /// The answer to `append`.
    case appendReply(AppendReply)
    /// The leader of `epoch` stopped leading (deposed or removed). Liveness comes from gossip,
    /// not heartbeats, so a leader that is alive but no longer leads must say so: otherwise its
    /// followers would wait for it forever in an idle room.
    case resign(epoch: Epoch)
}

/// A replica's answer to `prepare`.
public struct Promise: Sendable, Hashable {
    /// The epoch asked for.
    public var epoch: Epoch
    public var granted: Bool
    /// The highest epoch the replier has promised (after this answer).
    public var promised: Epoch
    public var lastEpoch: Epoch
    public var lastIndex: Int
    /// The replier's entries after the candidate's `from` (empty unless granted), or, when the
    /// replier compacted past `from`, its snapshot and every entry after it.
    public var snapshot: Snapshot?
    public var entries: [LogEntry]

    public init(
        epoch: Epoch, granted: Bool, promised: Epoch, lastEpoch: Epoch, lastIndex: Int, snapshot: Snapshot?, entries: [LogEntry]
    ) {
        self.epoch = epoch
        self.granted = granted
        self.promised = promised
        self.lastEpoch = lastEpoch
        self.lastIndex = lastIndex
        self.snapshot = snapshot
        self.entries = entries
    }
}

/// The leader's replication request (also the commit notice and read-barrier probe).
public struct Append: Sendable, Hashable {
    public var epoch: Epoch
    /// The leader's snapshot, when the replica needs entries the leader compacted; `prevIndex`
    /// is then the snapshot's index.
    public var snapshot: Snapshot?
    public var prevIndex: Int
    public var prevEpoch: Epoch
    public var entries: [LogEntry]
    public var commitIndex: Int
    /// Read-barrier round: a reply at this epoch confirms the leader up to this round.
    public var round: UInt64

    public init(
        epoch: Epoch, snapshot: Snapshot?, prevIndex: Int, prevEpoch: Epoch, entries: [LogEntry], commitIndex: Int, round: UInt64
    ) {
        self.epoch = epoch
        self.snapshot = snapshot
        self.prevIndex = prevIndex
        self.prevEpoch = prevEpoch
        self.entries = entries
        self.commitIndex = commitIndex
        self.round = round
    }
}

/// A replica's answer to `append`.
public struct AppendReply: Sendable, Hashable {
    /// The epoch of the append answered.
    public var epoch: Epoch
    public var success: Bool
    /// On success, the replier holds the leader's log through here; on failure, a hint where
    /// the logs may agree (the leader retries from `matchIndex + 1`).
    public var matchIndex: Int
    public var round: UInt64
    /// The highest epoch the replier has promised: above `epoch`, the leader is deposed.
    public var promised: Epoch

    public init(epoch: Epoch, success: Bool, matchIndex: Int, round: UInt64, promised: Epoch) {
        self.epoch = epoch
        self.success = success
        self.matchIndex = matchIndex
        self.round = round
        self.promised = promised
    }
}
