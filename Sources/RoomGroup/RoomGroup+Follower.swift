/// A replica's side of replication.
extension RoomGroup {
    /// Accepts an append only from an epoch at or above every promise; a newer epoch makes this
    /// replica follow it (and depose itself if it led or campaigned). Entries are merged as Raft
    /// does: a conflicting suffix is dropped, matching entries are kept (so duplicated or
    /// reordered appends are harmless), and the commit index rises to what the leader committed
    /// and this replica is known to hold.
    mutating func onAppend(from sender: ReplicaID, _ received: Append, now: UInt64, out: inout [GroupAction]) {
        var append = received
        highestTerm = max(highestTerm, append.epoch.term)
        guard append.epoch >= promised, leadership?.epoch != append.epoch else {
            let reply = AppendReply(epoch: append.epoch, success: false, matchIndex: 0, round: append.round, promised: promised)
            send(.appendReply(reply), to: sender.node, out: &out)
            return
        }
        if append.epoch > promised || leaderHint != append.epoch.leader || !leaderConfirmed {
            promised = append.epoch
            leaderHint = append.epoch.leader
            leaderConfirmed = true
            promisedAt = now
            stepDown(out: &out, now: now)
            campaign = nil
            campaignAt = nil
        }
        lastLeaderContact = now
        excludedByNewerLog = false
        if let snapshot = append.snapshot { install(snapshot, out: &out) }
        if append.prevIndex < log.baseIndex {
            // Entries this replica compacted are committed, and a leader of this epoch holds
            // every committed entry: skip them and check the rest against the snapshot's index.
            let skip = log.baseIndex - append.prevIndex
            append.entries = Array(append.entries.dropFirst(skip))
            append.prevIndex = log.baseIndex
            append.prevEpoch = log.base.epoch
        }
        guard append.prevIndex <= lastIndex, epoch(at: append.prevIndex) == append.prevEpoch else {
            let hint = max(0, min(lastIndex, append.prevIndex - 1))
            let reply = AppendReply(epoch: append.epoch, success: false, matchIndex: hint, round: append.round, promised: promised)
            send(.appendReply(reply), to: sender.node, out: &out)
            return
        }
        for (offset, entry) in append.entries.enumerated() {
            let index = append.prevIndex + 1 + offset
            if index <= lastIndex {
                if epoch(at: index) == entry.epoch { continue }
                truncate(from: index)
            }
            appendEntry(entry)
        }
        let held = append.prevIndex + append.entries.count
        commit(through: min(append.commitIndex, held), out: &out)
        let reply = AppendReply(epoch: append.epoch, success: true, matchIndex: held, round: append.round, promised: promised)
        send(.appendReply(reply), to: sender.node, out: &out)
    }
}
