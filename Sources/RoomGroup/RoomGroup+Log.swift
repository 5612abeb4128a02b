/// The log and what is derived from it: seqs, the idempotency window, configurations.
extension RoomGroup {
    public var lastIndex: Int { log.count }

    var lastEpoch: Epoch { log.last?.epoch ?? .zero }

    /// The epoch of the entry at `index`; `.zero` for index 0.
    func epoch(at index: Int) -> Epoch? {
        if index == 0 { return .zero }
        guard index >= 1, index <= log.count else { return nil }
        return log[index - 1].epoch
    }

    /// The latest configuration in the log (committed or not) and its index.
    var latestConfig: (config: GroupConfig, index: Int)? { config(atOrBelow: log.count) }

    /// The latest committed configuration.
    var committedConfig: GroupConfig? { config(atOrBelow: commitIndex)?.config }

    func config(atOrBelow index: Int) -> (config: GroupConfig, index: Int)? {
        var i = min(index, log.count)
        while i >= 1 {
            if let config = log[i - 1].config { return (config, i) }
            i -= 1
        }
        return nil
    }

    var voters: [ReplicaID] { latestConfig?.config.voters ?? [] }

    var isVoter: Bool { latestConfig?.config.isVoter(me) ?? false }

    /// Appends one entry, keeping the seq and idempotency index up to date.
    mutating func appendEntry(_ entry: LogEntry) {
        log.append(entry)
        if let message = entry.message {
            lastSeq = message.seq
            lastTs = max(lastTs, message.ts)
            idIndex[MessageKey(user: message.user, id: message.id)] = log.count
            if UInt64(idIndex.count) > 2 * settings.idempotencyWindow { pruneIDs() }
        }
    }

    /// Drops the entries from `index` on. Never below the commit index: doing so would lose a
    /// committed entry, which the protocol rules out; if it happens the breach is recorded.
    mutating func truncate(from index: Int) {
        guard index <= log.count else { return }
        if index <= commitIndex {
            safetyBreach = safetyBreach ?? "\(me) truncated committed index \(index) (commit \(commitIndex))"
        }
        log.removeSubrange((index - 1)...)
        rebuildDerived()
    }

    mutating func rebuildDerived() {
        idIndex = [:]
        lastSeq = 0
        lastTs = 0
        for (offset, entry) in log.enumerated() {
            guard let message = entry.message else { continue }
            lastSeq = message.seq
            lastTs = max(lastTs, message.ts)
            idIndex[MessageKey(user: message.user, id: message.id)] = offset + 1
        }
        pruneIDs()
    }

    mutating func pruneIDs() {
        let floor = lastSeq > settings.idempotencyWindow ? lastSeq - settings.idempotencyWindow : 0
        idIndex = idIndex.filter { (_, index) in (log[index - 1].message?.seq ?? 0) > floor }
    }

    /// The log index of a message with this `(user, id)` among the window's recent messages.
    func indexOfRecent(_ key: MessageKey) -> Int? {
        guard let index = idIndex[key], index <= log.count, let message = log[index - 1].message,
            message.user == key.user, message.id == key.id,
            message.seq + settings.idempotencyWindow > lastSeq
        else { return nil }
        return index
    }

    /// The seq of the last message at or below `index`.
    func seq(through index: Int) -> UInt64 {
        var i = min(index, log.count)
        while i >= 1 {
            if let message = log[i - 1].message { return message.seq }
            i -= 1
        }
        return 0
    }

    /// Raises the commit index and reports the newly committed messages (persisted by a leader).
    mutating func commit(through index: Int, out: inout [GroupAction]) {
        let target = min(index, log.count)
        guard target > commitIndex else { return }
        let messages = log[commitIndex..<target].compactMap(\.message)
        commitIndex = target
        guard !messages.isEmpty else { return }
        out.append(.commit(messages))
        if leadership != nil { out.append(.persist(messages)) }
    }
}
