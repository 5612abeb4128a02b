/// The log and what is derived from it: seqs, the idempotency window, configurations, compaction.
extension RoomGroup {
    public var lastIndex: Int { log.lastIndex }

    var lastEpoch: Epoch { log.lastEpoch }

    /// The epoch of the entry at `index`; `.zero` for index 0, nil when compacted or absent.
    func epoch(at index: Int) -> Epoch? { log.epoch(at: index) }

    /// The latest configuration in the log (committed or not) and its index.
    var latestConfig: (config: GroupConfig, index: Int)? { log.config(atOrBelow: log.lastIndex) }

    /// The latest committed configuration.
    var committedConfig: GroupConfig? { log.config(atOrBelow: commitIndex)?.config }

    func config(atOrBelow index: Int) -> (config: GroupConfig, index: Int)? { log.config(atOrBelow: index) }

    var voters: [ReplicaID] { latestConfig?.config.voters ?? [] }

    var isVoter: Bool { latestConfig?.config.isVoter(me) ?? false }

    /// Appends one entry, keeping the seq and idempotency index up to date.
    mutating func appendEntry(_ entry: LogEntry) {
        log.append(entry)
        if let changes = entry.presence { presence.apply(changes) }
        if let recovery = entry.recovery { lastSeq = max(lastSeq, recovery.resumeAfter) }
        if let message = entry.message {
            lastSeq = message.seq
            lastTs = max(lastTs, message.ts)
            idIndex[MessageKey(user: message.user, id: message.id)] = RecentID(index: log.lastIndex, seq: message.seq)
            if UInt64(idIndex.count) > 2 * settings.idempotencyWindow { pruneIDs() }
        }
    }

    /// Drops the entries from `index` on. Never below the commit index: doing so would lose a
    /// committed entry, which the protocol rules out; if it happens the breach is recorded.
    mutating func truncate(from index: Int) {
        guard index <= log.lastIndex else { return }
        if index <= commitIndex {
            safetyBreach = safetyBreach ?? "\(me) truncated committed index \(index) (commit \(commitIndex))"
        }
        log.truncate(from: index)
        rebuildDerived()
    }

    mutating func rebuildDerived() {
        idIndex = [:]
        lastSeq = log.base.lastSeq
        lastTs = log.base.lastTs
        presence = log.base.presence
        for recent in log.base.recent {
            idIndex[MessageKey(user: recent.user, id: recent.id)] = RecentID(index: log.baseIndex, seq: recent.seq)
        }
        for (offset, entry) in log.entries.enumerated() {
            if let changes = entry.presence { presence.apply(changes) }
            if let recovery = entry.recovery { lastSeq = max(lastSeq, recovery.resumeAfter) }
            guard let message = entry.message else { continue }
            lastSeq = message.seq
            lastTs = max(lastTs, message.ts)
            idIndex[MessageKey(user: message.user, id: message.id)] = RecentID(index: log.baseIndex + offset + 1, seq: message.seq)
        }
        pruneIDs()
    }

    mutating func pruneIDs() {
        let floor = lastSeq > settings.idempotencyWindow ? lastSeq - settings.idempotencyWindow : 0
        idIndex = idIndex.filter { $0.value.seq > floor }
    }

    /// Where a message with this `(user, id)` is among the window's recent messages (an index at
    /// or below the base means a compacted, committed message).
    func recent(_ key: MessageKey) -> RecentID? {
        guard let found = idIndex[key], found.seq + settings.idempotencyWindow > lastSeq else { return nil }
        return found
    }

    /// The seq of the last message at or below `index`.
    func seq(through index: Int) -> UInt64 { log.seq(through: index) }

    /// Raises the commit index and reports the newly committed messages (persisted by a leader).
    mutating func commit(through index: Int, out: inout [GroupAction]) {
        let target = min(index, log.lastIndex)
        guard target > commitIndex else { return }
        let entries = log.entries(after: commitIndex, through: target)
        commitIndex = target
        var messages: [GroupChatMessage] = []
        func flush() {
            guard !messages.isEmpty else { return }
            out.append(.commit(messages))
            if leadership != nil { out.append(.persist(messages)) }
            messages = []
        }
        for entry in entries {
            if let message = entry.message { messages.append(message) }
            if let recovery = entry.recovery, recovery.resumeAfter > recovery.lostAfter {
                flush()
                out.append(.lost(afterSeq: recovery.lostAfter, throughSeq: recovery.resumeAfter))
            }
            if let changes = entry.presence {
                flush()
                out.append(.presence(changes))
            }
        }
        flush()
    }

    /// Committed messages whose `ts` is within `settings.repersistWindow` of now (at most
    /// `idempotencyWindow` of them), oldest first: what a new leader writes to the history store
    /// again, because its predecessor may have died before writing them.
    func recentlyCommitted(now: UInt64) -> [GroupChatMessage] {
        let cutoff = Int64(now / 1_000_000) + settings.wallClockOffset - Int64(settings.repersistWindow / 1_000_000)
        var messages: [GroupChatMessage] = []
        var index = commitIndex
        while index > log.baseIndex, messages.count < Int(settings.idempotencyWindow) {
            if let message = log.entry(at: index)?.message {
                guard message.ts >= cutoff else { break }
                messages.append(message)
            }
            index -= 1
        }
        return messages.reversed()
    }

    /// The state through `index` (committed), as a snapshot.
    func snapshot(through index: Int) -> Snapshot {
        let (config, configIndex) = log.config(atOrBelow: index) ?? (nil, 0)
        let seq = log.seq(through: index)
        let floor = seq > settings.idempotencyWindow ? seq - settings.idempotencyWindow : 0
        let recent = idIndex.filter { $0.value.index <= index && $0.value.seq > floor }
            .map { Snapshot.Recent(user: $0.key.user, id: $0.key.id, seq: $0.value.seq) }
            .sorted { $0.seq < $1.seq }
        var presence = log.base.presence
        for entry in log.entries(after: log.baseIndex, through: index) {
            if let changes = entry.presence { presence.apply(changes) }
        }
        var ts = log.base.lastTs
        for i in stride(from: index, to: log.baseIndex, by: -1) {
            if let message = log.entry(at: i)?.message {
                ts = max(ts, message.ts)
                break
            }
        }
        return Snapshot(
            index: index, epoch: log.epoch(at: index) ?? .zero, config: config, configIndex: configIndex, lastSeq: seq,
            lastTs: ts, recent: recent, presence: presence)
    }

    /// Keeps at most about `2 × retainedEntries` committed entries: past that, everything committed
    /// but the last `retainedEntries` is replaced by a snapshot (the history store holds the
    /// messages). Uncommitted entries are never compacted.
    mutating func compactIfNeeded() {
        let retained = settings.retainedEntries
        guard commitIndex - log.baseIndex > 2 * retained else { return }
        log.compact(to: snapshot(through: commitIndex - retained))
    }

    /// Installs a committed snapshot from a leader or a promiser. What this replica already holds
    /// at and below its index is committed there, so a matching entry keeps the log after it;
    /// otherwise the log is replaced. Messages committed here only through the snapshot are
    /// reported as a `gap`, for the shell to read from the history store.
    mutating func install(_ snapshot: Snapshot, out: inout [GroupAction]) {
        guard snapshot.index > log.baseIndex else { return }
        if snapshot.index <= log.lastIndex, log.epoch(at: snapshot.index) == snapshot.epoch {
            commit(through: snapshot.index, out: &out)
        } else if snapshot.index <= commitIndex {
            safetyBreach = safetyBreach ?? "\(me) got a snapshot at \(snapshot.index) unlike its committed log"
        }
        let before = seq(through: commitIndex)
        log.compact(to: snapshot)
        rebuildDerived()
        if snapshot.index > commitIndex {
            commitIndex = snapshot.index
            if snapshot.lastSeq > before { out.append(.gap(afterSeq: before, throughSeq: snapshot.lastSeq)) }
            out.append(.presenceTable(snapshot.presence))
        }
    }
}

/// Where a recent message sits: its log index and seq.
struct RecentID: Sendable, Hashable {
    var index: Int
    var seq: UInt64
}
