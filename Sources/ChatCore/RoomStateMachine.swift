import DequeModule

/// The owner's state of one room, as a pure state machine: events in, actions out.
///
/// This is the one place where a room is ordered. Whoever holds a room's `RoomStateMachine` is
/// that room's owner; it alone assigns `seq`. It reads no clock and touches no socket: the caller
/// passes the time in and performs the actions it gets back, in order.
///
/// Rules (each has a unit test):
/// - Commit: a new message is *sequenced* (it gets its seq; the action is `replicate`) and becomes
///   visible only when the owner calls `commit(through:)`, which it does once the room's successor
///   holds the message (DESIGN.md: the owner acks only what would survive its death). Only then is
///   it persisted, delivered and acked. Every query (`latest`, `messages(since:)`, `before`) sees
///   committed messages only, so nobody can observe a seq that a new owner might assign again.
/// - `seq` starts at 1 and rises by exactly 1 per accepted message; a restored room continues from
///   the last seq of its restored history.
/// - `ts` is the caller's time, raised where needed so that it never falls below the previous
///   message's `ts` (a clock that steps back never reorders timestamps within a room).
/// - Idempotency: a send whose `(user, id)` is among the room's `idempotencyWindow` most recent
///   accepted sends is not sequenced again; it is acked with the original seq and delivers nothing.
///   The window is rebuilt from restored history, so a retry after a restart is still recognised.
/// - The log keeps the latest `logCapacity` messages, contiguous in seq. Resume (`since`) and
///   history pages are answered from it; asking for more than it holds says `truncated`.
/// - Presence counts distinct users: a user's first session in the room is a `join`, the last one
///   leaving is a `leave`; other sessions change nothing visible.
public struct RoomStateMachine: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Messages kept in the owner's log (and the history cache's cap per room).
        public var logCapacity: Int
        /// Recent `(user, id)` pairs remembered for idempotent retries.
        public var idempotencyWindow: Int

        public init(logCapacity: Int = 1000, idempotencyWindow: Int = 4096) {
            self.logCapacity = max(1, logCapacity)
            self.idempotencyWindow = max(1, idempotencyWindow)
        }
    }

    /// What the owner must do after an event, in order.
    public enum Action: Sendable, Hashable {
        /// The message has its seq: make the room's successor hold it, then `commit(through:)`.
        case replicate(ChatMessage)
        /// A retry of a message that is sequenced but not yet committed: ack it (as a duplicate)
        /// when `seq` commits.
        case awaitCommit(room: String, id: String, seq: UInt64)
        /// Write the message to the history cache (batched, off the ack path).
        case persist(ChatMessage)
        /// Send the message to every subscriber of the room.
        case deliver(ChatMessage)
        /// Answer the sender: its message holds `seq`. `duplicate` is true for a retry.
        case ack(room: String, id: String, seq: UInt64, duplicate: Bool)
        /// Tell the room's subscribers that membership changed.
        case presence(PresenceEvent)
    }

    struct MessageKey: Hashable, Sendable {
        var user: String
        var id: String
    }

    public let room: String
    public let configuration: Configuration
    /// The seq of the latest sequenced message (committed or not); 0 for a room with no messages.
    public internal(set) var lastSeq: UInt64
    /// The seq of the latest committed message: what clients may see.
    public internal(set) var committedSeq: UInt64
    var lastTimestamp: Int64
    var log: Deque<ChatMessage>
    var recentIDs: [MessageKey: UInt64]
    var idOrder: Deque<MessageKey>
    var members: [String: Int]

    /// Creates a room's state, continuing from `history` (oldest first) if there is any.
    ///
    /// Only the contiguous run of seqs that ends at the newest message is kept, so the log never
    /// has holes.
    public init(room: String, configuration: Configuration = .init(), restoring history: [ChatMessage] = []) {
        self.room = room
        self.configuration = configuration
        var kept: [ChatMessage] = []
        for message in history.sorted(by: { $0.seq < $1.seq }).reversed() {
            if let previous = kept.last, previous.seq != message.seq + 1 { break }
            kept.append(message)
            if kept.count == configuration.logCapacity { break }
        }
        kept.reverse()
        self.log = Deque(kept)
        self.lastSeq = kept.last?.seq ?? 0
        self.committedSeq = kept.last?.seq ?? 0
        self.lastTimestamp = kept.last?.ts ?? 0
        self.recentIDs = [:]
        self.idOrder = []
        self.members = [:]
        for message in kept.suffix(configuration.idempotencyWindow) {
            remember(MessageKey(user: message.user, id: message.id), seq: message.seq)
        }
    }

    // MARK: Events

    /// A client sends `text` with its id. `now` is the owner's clock in ms since the epoch.
    ///
    /// A new message is sequenced (`replicate`); a retry of a committed one is acked at once with
    /// its original seq; a retry of one still being replicated waits for that commit.
    public mutating func send(user: String, id: String, text: String, now: Int64) -> [Action] {
        let key = MessageKey(user: user, id: id)
        if let seq = recentIDs[key] {
            return seq <= committedSeq
                ? [.ack(room: room, id: id, seq: seq, duplicate: true)] : [.awaitCommit(room: room, id: id, seq: seq)]
        }
        lastSeq += 1
        lastTimestamp = max(lastTimestamp, now)
        let message = ChatMessage(room: room, seq: lastSeq, id: id, user: user, text: text, ts: lastTimestamp)
        log.append(message)
        if log.count > configuration.logCapacity { log.removeFirst() }
        remember(key, seq: lastSeq)
        return [.replicate(message)]
    }

    /// The room's successor holds every message up to `seq`: they commit, in order. Returns,
    /// per message, `persist`, `deliver` and `ack`. Commits never go backwards.
    public mutating func commit(through seq: UInt64) -> [Action] {
        let target = min(seq, lastSeq)
        guard target > committedSeq else { return [] }
        var actions: [Action] = []
        for message in uncommitted where message.seq <= target {
            actions += [.persist(message), .deliver(message), .ack(room: room, id: message.id, seq: message.seq, duplicate: false)]
        }
        committedSeq = target
        return actions
    }

    /// Sequenced messages not yet committed, oldest first.
    public var uncommitted: [ChatMessage] {
        guard lastSeq > committedSeq, let oldest = log.first?.seq else { return [] }
        let start = Int(committedSeq + 1 > oldest ? committedSeq + 1 - oldest : 0)
        return Array(log[start...])
    }

    /// One session of `user` enters the room.
    public mutating func join(user: String) -> [Action] {
        let sessions = members[user, default: 0]
        members[user] = sessions + 1
        guard sessions == 0 else { return [] }
        return [.presence(PresenceEvent(room: room, kind: .join, user: user, members: members.count))]
    }

    /// One session of `user` leaves the room (or disconnects). Leaving a room one is not in is a
    /// no-op.
    public mutating func leave(user: String) -> [Action] {
        guard let sessions = members[user] else { return [] }
        guard sessions <= 1 else {
            members[user] = sessions - 1
            return []
        }
        members[user] = nil
        return [.presence(PresenceEvent(room: room, kind: .leave, user: user, members: members.count))]
    }

    // MARK: Queries

    /// Distinct users in the room, sorted.
    public var memberNames: [String] { members.keys.sorted() }

    /// Distinct users in the room.
    public var memberCount: Int { members.count }

    /// Whether `user` has at least one session in the room.
    public func isMember(_ user: String) -> Bool { members[user] != nil }

    /// The latest `limit` messages, oldest first.
    public func latest(limit: Int) -> [ChatMessage] {
        Array(committedLog.suffix(max(0, limit)))
    }

    /// The log without its uncommitted tail.
    private var committedLog: Deque<ChatMessage>.SubSequence {
        log.prefix(max(0, log.count - Int(lastSeq - committedSeq)))
    }

    /// Every held message with a seq above `since` (at most `limit`, the first ones), oldest
    /// first. `truncated` is true when messages above `since` exist that the log no longer holds.
    public func messages(since: UInt64, limit: Int = .max) -> (messages: [ChatMessage], truncated: Bool) {
        guard since < committedSeq else { return ([], false) }
        let held = committedLog
        let oldestHeld = held.first?.seq ?? (committedSeq + 1)
        let truncated = since + 1 < oldestHeld
        let start = truncated ? 0 : Int(since + 1 - oldestHeld)
        let end = min(held.count, start + max(0, min(limit, held.count)))
        return (Array(held[(held.startIndex + start)..<(held.startIndex + end)]), truncated)
    }

    /// The `limit` messages just below `before`, oldest first (the latest `limit` without it).
    public func messages(before: UInt64?, limit: Int) -> [ChatMessage] {
        guard let before else { return latest(limit: limit) }
        let held = committedLog
        guard let oldest = held.first?.seq, before > oldest else { return [] }
        let end = min(held.count, Int(before - oldest))
        let start = max(0, end - max(0, limit))
        return Array(held[(held.startIndex + start)..<(held.startIndex + end)])
    }

    // MARK: Internals

    mutating func remember(_ key: MessageKey, seq: UInt64) {
        recentIDs[key] = seq
        idOrder.append(key)
        if idOrder.count > configuration.idempotencyWindow {
            recentIDs[idOrder.removeFirst()] = nil
        }
    }
}
