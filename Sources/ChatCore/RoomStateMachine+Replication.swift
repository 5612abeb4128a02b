import DequeModule

/// How a room's state travels between nodes: to its successor (replication), to a new owner
/// (hand-off), and back into an owner (failover).
extension RoomStateMachine {
    /// One remembered `(user, id) -> seq` of the idempotency window.
    public struct RecentID: Sendable, Hashable {
        public var user: String
        public var id: String
        public var seq: UInt64

        public init(user: String, id: String, seq: UInt64) {
            self.user = user
            self.id = id
            self.seq = seq
        }
    }

    /// Everything a new owner needs to continue the room exactly: the seq, the recent log, and
    /// the idempotency window (so a retry sent to the new owner returns the original ack).
    /// Presence is carried by the cluster next to it (sessions are per node).
    public struct Snapshot: Sendable, Hashable {
        public var lastSeq: UInt64
        public var lastTimestamp: Int64
        /// Oldest first, contiguous in seq, ending at `lastSeq`.
        public var log: [ChatMessage]
        /// Oldest first.
        public var recentIDs: [RecentID]

        public init(lastSeq: UInt64, lastTimestamp: Int64, log: [ChatMessage], recentIDs: [RecentID]) {
            self.lastSeq = lastSeq
            self.lastTimestamp = lastTimestamp
            self.log = log
            self.recentIDs = recentIDs
        }
    }

    /// The room's state, every sequenced message included (committed or not: whoever continues
    /// from it treats them all as committed, since the node that shipped it still holds them).
    public var snapshot: Snapshot {
        Snapshot(
            lastSeq: lastSeq, lastTimestamp: lastTimestamp, log: Array(log),
            recentIDs: idOrder.compactMap { key in recentIDs[key].map { RecentID(user: key.user, id: key.id, seq: $0) } })
    }

    /// Continues a room from a snapshot: all of it is committed, nobody is a member yet.
    public init(room: String, configuration: Configuration = .init(), snapshot: Snapshot) {
        self.init(room: room, configuration: configuration)
        let contiguous = snapshot.log.isEmpty || snapshot.log.last?.seq == snapshot.lastSeq
        log = Deque(contiguous ? snapshot.log.suffix(configuration.logCapacity) : [])
        lastSeq = snapshot.lastSeq
        committedSeq = snapshot.lastSeq
        lastTimestamp = snapshot.lastTimestamp
        for entry in snapshot.recentIDs.suffix(configuration.idempotencyWindow) {
            remember(MessageKey(user: entry.user, id: entry.id), seq: entry.seq)
        }
    }

    /// A replica appends what its owner sequenced. Accepted only when `messages` continue this
    /// state exactly (the first is `lastSeq + 1`, each the next): otherwise false and nothing
    /// changes (the owner then sends a full snapshot). A replica counts everything as committed.
    public mutating func appendReplicated(_ messages: [ChatMessage]) -> Bool {
        var expected = lastSeq + 1
        for message in messages {
            guard message.seq == expected, message.room == room else { return false }
            expected += 1
        }
        for message in messages {
            log.append(message)
            if log.count > configuration.logCapacity { log.removeFirst() }
            remember(MessageKey(user: message.user, id: message.id), seq: message.seq)
            lastTimestamp = max(lastTimestamp, message.ts)
        }
        lastSeq = expected - 1
        committedSeq = lastSeq
        return true
    }

    /// Sets the sessions of every user at once (a new owner rebuilding presence from the
    /// sessions that travelled with the room); emits no presence events.
    public mutating func setMembers(_ sessions: [String: Int]) {
        members = sessions.filter { $0.value > 0 }
    }
}
