/// The owner's side of one room's replication, as a pure value: what to send to the successor
/// next. At most one request is in flight per room, so appends reach the successor in seq order,
/// and everything sequenced while one is in flight goes out together in the next (batching
/// comes from load itself: the busier the room, the bigger the batch).
struct ReplicationState: Sendable, Hashable {
    enum Next: Sendable, Hashable {
        /// Nothing to send (or a request is in flight).
        case idle
        /// No successor (alone on the ring): the owner's own append is what it acks.
        case commitLocally
        /// Send the whole state to `node`.
        case sync(to: String)
        /// Send the messages after `baseSeq` (and the sessions, if `sessions`).
        case append(to: String, baseSeq: UInt64, sessions: Bool)
    }

    private(set) var inFlight = false
    /// Numbers requests: an answer to an abandoned request (its successor left the ring while it
    /// was in flight) carries an old generation and is ignored.
    private(set) var generation: UInt64 = 0
    /// The successor the last request went to; a different successor needs the whole state.
    private(set) var target: String?
    /// The successor must get the whole state before any append (a new owner, a new successor,
    /// or a successor that said `resync`).
    private(set) var needsSync = true
    private(set) var sessionsChanged = false
    /// A read waits for the successor to confirm, under the room's epoch, that this node still
    /// orders the room (a read barrier, like Raft's ReadIndex): the next request must go even if
    /// it carries nothing (an empty append), and it must be sent after the read arrived.
    private(set) var readsWaiting = false

    mutating func sessionsDidChange() { sessionsChanged = true }

    /// A read arrived: it is answered once a request sent from now on (`generation` above the
    /// current one) is acked.
    mutating func readRequested() { readsWaiting = true }

    /// Nothing in flight, nothing to send, and the successor holds the whole state (or there is
    /// no successor).
    func isIdle(lastSeq: UInt64, committedSeq: UInt64) -> Bool {
        !inFlight && !sessionsChanged && !readsWaiting && lastSeq == committedSeq && (target == nil || !needsSync)
    }

    /// Decides the next request, given the room's successor now and whether messages wait.
    mutating func next(successor: String?, committedSeq: UInt64, lastSeq: UInt64) -> Next {
        if inFlight {
            // A request to a node that is no longer the successor (it died, or the ring moved)
            // is abandoned rather than waited out: the new successor gets the whole state now.
            guard successor != target else { return .idle }
            inFlight = false
        }
        guard let successor else {
            // Alone: nobody else can order the room, so reads are answered at once (the caller
            // does so after committing locally).
            target = nil
            needsSync = true
            sessionsChanged = false
            readsWaiting = false
            return lastSeq > committedSeq ? .commitLocally : .idle
        }
        if successor != target {
            target = successor
            needsSync = true
        }
        if needsSync {
            inFlight = true
            generation += 1
            sessionsChanged = false
            readsWaiting = false
            return .sync(to: successor)
        }
        guard lastSeq > committedSeq || sessionsChanged || readsWaiting else { return .idle }
        inFlight = true
        generation += 1
        readsWaiting = false
        defer { sessionsChanged = false }
        return .append(to: successor, baseSeq: committedSeq, sessions: sessionsChanged)
    }

    /// The successor answered request `generation` (or did not): the next request may go.
    /// Returns false for the answer to an abandoned request (ignore it).
    mutating func finished(_ reply: ReplicationReply?, generation: UInt64) -> Bool {
        guard inFlight, generation == self.generation else { return false }
        inFlight = false
        switch reply {
        case .ack: needsSync = false
        case .resync, .stale, nil: needsSync = true
        }
        return true
    }
}
