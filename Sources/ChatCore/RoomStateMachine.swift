import DequeModule

/// The owner's state of one room, as a pure state machine: events in, actions out.
///
/// This is the one place where a room is ordered. Whoever holds a room's `RoomStateMachine` is
/// that room's owner; it alone assigns `seq`. It reads no clock and touches no socket: the caller
/// passes the time in and performs the actions it gets back, in order.
///
/// Rules (each has a unit test):
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
    /// The seq of the latest message; 0 for a room with no messages.
    public private(set) var lastSeq: UInt64
    private var lastTimestamp: Int64
    private var log: Deque<ChatMessage>
    private var recentIDs: [MessageKey: UInt64]
    private var idOrder: Deque<MessageKey>
    private var members: [String: Int]

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
    public mutating func send(user: String, id: String, text: String, now: Int64) -> [Action] {
        let key = MessageKey(user: user, id: id)
        if let seq = recentIDs[key] {
            return [.ack(room: room, id: id, seq: seq, duplicate: true)]
        }
        lastSeq += 1
        lastTimestamp = max(lastTimestamp, now)
        let message = ChatMessage(room: room, seq: lastSeq, id: id, user: user, text: text, ts: lastTimestamp)
        log.append(message)
        if log.count > configuration.logCapacity { log.removeFirst() }
        remember(key, seq: lastSeq)
        return [.persist(message), .deliver(message), .ack(room: room, id: id, seq: lastSeq, duplicate: false)]
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
        Array(log.suffix(max(0, limit)))
    }

    /// Every held message with a seq above `since` (at most `limit`, the first ones), oldest
    /// first. `truncated` is true when messages above `since` exist that the log no longer holds.
    public func messages(since: UInt64, limit: Int = .max) -> (messages: [ChatMessage], truncated: Bool) {
        guard since < lastSeq else { return ([], false) }
        let oldestHeld = log.first?.seq ?? (lastSeq + 1)
        let truncated = since + 1 < oldestHeld
        let start = truncated ? 0 : Int(since + 1 - oldestHeld)
        let end = min(log.count, start + max(0, min(limit, log.count)))
        return (Array(log[start..<end]), truncated)
    }

    /// The `limit` messages just below `before`, oldest first (the latest `limit` without it).
    public func messages(before: UInt64?, limit: Int) -> [ChatMessage] {
        guard let before else { return latest(limit: limit) }
        guard let oldest = log.first?.seq, before > oldest else { return [] }
        let end = min(log.count, Int(before - oldest))
        let start = max(0, end - max(0, limit))
        return Array(log[start..<end])
    }

    // MARK: Internals

    private mutating func remember(_ key: MessageKey, seq: UInt64) {
        recentIDs[key] = seq
        idOrder.append(key)
        if idOrder.count > configuration.idempotencyWindow {
            recentIDs[idOrder.removeFirst()] = nil
        }
    }
}
