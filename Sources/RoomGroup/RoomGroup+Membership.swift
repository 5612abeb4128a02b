/// Configuration changes: the leader moves the voters toward the room's placement, one voter at
/// a time, through the room's own log.
extension RoomGroup {
    /// A voter the placement no longer wants: its node left the placement, or gossip shows a newer
    /// incarnation of its node (the old process is gone for good; its promises died with it).
    func isUnwanted(_ voter: ReplicaID) -> Bool {
        if !placement.contains(voter.node) { return true }
        if let boot = aliveBoot[voter.node], boot != voter.boot { return true }
        return false
    }

    /// Proposes at most one change, and only once the previous configuration entry and this
    /// leader's no-op are committed (the single-server rule and its fix for leader changes).
    ///
    /// First, a live placement member that is not a voter and holds everything committed is
    /// promoted (while the voters number no more than the placement, so a group grows to R + 1 at
    /// most). Then, while the voters outnumber the placement, an unwanted voter is removed
    /// (others before the leader itself; the leader steps down once its removal commits). A voter
    /// that is merely dead is never removed: it may be paused, and the group keeps its size.
    mutating func reconfigure(now: UInt64, out: inout [GroupAction]) {
        guard let leadership, commitIndex >= leadership.noopIndex, !placement.isEmpty,
            let (config, configIndex) = latestConfig, configIndex <= commitIndex
        else { return }
        if config.voters.count <= placement.count {
            for node in placement {
                guard let boot = aliveBoot[node] else { continue }
                let replica = ReplicaID(node: node, boot: boot)
                guard !config.isVoter(replica) else { continue }
                let caughtUp = replica == me || (leadership.progress[replica]?.match ?? 0) >= commitIndex
                guard caughtUp else { continue }
                return propose(GroupConfig(voters: config.voters + [replica]), now: now, out: &out)
            }
        }
        guard config.voters.count > placement.count else { return }
        let unwanted = config.voters.filter(isUnwanted).sorted { ($0 == me ? 1 : 0, $0) < ($1 == me ? 1 : 0, $1) }
        guard let victim = unwanted.first, config.voters.count > 1 else { return }
        propose(GroupConfig(voters: config.voters.filter { $0 != victim }), now: now, out: &out)
    }

    /// Rooms are led by the first live voter in ring order (the first live member of their
    /// placement), so that leadership spreads over the ring like placement does: a new member
    /// first in a room's placement, or a restarted one once it is a voter again, takes the
    /// room's leadership back. A leader that is not that voter steps down (telling every replica,
    /// so the preferred voter campaigns at once and wins with the first rank), but only once it
    /// is idle and settled (everything committed, no configuration change under way, nothing
    /// waiting) and the preferred voter holds its whole log; and at most once per
    /// `GroupSettings.yieldInterval`.
    mutating func yieldToPreferred(now: UInt64, out: inout [GroupAction]) {
        guard let leadership, !retired, commitIndex >= leadership.noopIndex, commitIndex == lastIndex,
            leadership.pending.isEmpty, leadership.reads.isEmpty,
            let (config, configIndex) = latestConfig, configIndex <= commitIndex, config.isVoter(me),
            yieldedAt.map({ now >= $0 + settings.yieldInterval }) ?? true
        else { return }
        guard let preferred = ringOrder(config.voters.filter { alive.contains($0) }).first, preferred != me,
            (leadership.progress[preferred]?.match ?? 0) >= lastIndex
        else { return }
        yieldedAt = now
        stepDown(out: &out, now: now)
    }

    mutating func propose(_ config: GroupConfig, now: UInt64, out: inout [GroupAction]) {
        guard let leadership else { return }
        appendEntry(LogEntry(epoch: leadership.epoch, payload: .config(config)))
        replicateToAll(now: now, out: &out)
        advanceLeaderCommit(now: now, out: &out)
    }
}
