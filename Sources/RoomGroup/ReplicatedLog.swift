/// A replica's log: a snapshot of the compacted prefix, then the entries after it.
///
/// Indexes are absolute (the first entry ever is 1), so compaction never renumbers anything. An
/// index at or below `baseIndex` is compacted: only its snapshot's facts are known, and only the
/// base index itself still has an epoch (the consistency check of the next append needs it).
struct ReplicatedLog: Sendable {
    private(set) var base = Snapshot.empty
    /// Entry at index `i` is `entries[i - baseIndex - 1]`.
    private(set) var entries: [LogEntry] = []

    var baseIndex: Int { base.index }
    var lastIndex: Int { base.index + entries.count }
    var lastEpoch: Epoch { entries.last?.epoch ?? base.epoch }

    /// The epoch of the entry at `index`: the base's at the base, nil when compacted or absent.
    func epoch(at index: Int) -> Epoch? {
        if index == base.index { return base.epoch }
        return entry(at: index)?.epoch
    }

    /// The entry at `index`, nil when compacted or beyond the end.
    func entry(at index: Int) -> LogEntry? {
        guard index > base.index, index <= lastIndex else { return nil }
        return entries[index - base.index - 1]
    }

    /// The entries after `index` (which must not be below the base) through `end`.
    func entries(after index: Int, through end: Int) -> [LogEntry] {
        let from = max(index, base.index) - base.index
        let to = min(end, lastIndex) - base.index
        guard from < to else { return [] }
        return Array(entries[from..<to])
    }

    /// The latest configuration at or below `index`, from the entries or else the snapshot.
    func config(atOrBelow index: Int) -> (config: GroupConfig, index: Int)? {
        var i = min(index, lastIndex)
        while i > base.index {
            if let config = entries[i - base.index - 1].config { return (config, i) }
            i -= 1
        }
        guard let config = base.config, base.configIndex <= index else { return nil }
        return (config, base.configIndex)
    }

    /// The seq of the last message at or below `index` (at least the snapshot's).
    func seq(through index: Int) -> UInt64 {
        var i = min(index, lastIndex)
        while i > base.index {
            if let seq = entries[i - base.index - 1].seqAfter { return seq }
            i -= 1
        }
        return base.lastSeq
    }

    mutating func append(_ entry: LogEntry) { entries.append(entry) }

    /// Drops the entries from `index` on (never the snapshot).
    mutating func truncate(from index: Int) {
        let from = max(index, base.index + 1) - base.index - 1
        guard from < entries.count else { return }
        entries.removeSubrange(from...)
    }

    /// Replaces the entries through `snapshot.index` with it. The caller has checked that the
    /// entry at that index (if held) has the snapshot's epoch; otherwise every entry goes.
    mutating func compact(to snapshot: Snapshot) {
        guard snapshot.index > base.index else { return }
        if snapshot.index <= lastIndex, epoch(at: snapshot.index) == snapshot.epoch {
            entries.removeFirst(snapshot.index - base.index)
        } else {
            entries = []
        }
        base = snapshot
    }
}
