/// The leader's side of replication: appends, replies, commits, retransmissions.
extension RoomGroup {
    /// Everyone the leader replicates to: the voters, and as learners the live incarnations of
    /// placement members that are not voters.
    var replicationTargets: [ReplicaID] {
        var targets = Set(voters)
        for node in placement { if let boot = aliveBoot[node] { targets.insert(ReplicaID(node: node, boot: boot)) } }
        targets.remove(me)
        return targets.sorted()
    }

    /// Sends to every live target that is missing entries (while fewer than `maxInflight` appends
    /// are in flight to it) or only the latest commit index (when none is). Nothing is sent to
    /// replicas gossip says are dead.
    mutating func replicateToAll(now: UInt64, out: inout [GroupAction], force: Bool = false) {
        guard let leadership else { return }
        for replica in replicationTargets where alive.contains(replica) {
            let progress = leadership.progress[replica] ?? Leadership.Progress(next: lastIndex + 1)
            self.leadership?.progress[replica] = progress
            let missing = progress.next <= lastIndex && progress.inflight < settings.maxInflight
            let commitOnly = progress.inflight == 0 && progress.sentCommit < commitIndex
            if force || missing || commitOnly { sendAppend(to: replica, now: now, out: &out) }
        }
    }

    mutating func sendAppend(to replica: ReplicaID, now: UInt64, out: inout [GroupAction]) {
        guard let leadership, var progress = leadership.progress[replica] else { return }
        progress.next = min(max(1, progress.next), lastIndex + 1)
        // A replica that needs an entry this leader compacted gets the snapshot first.
        var snapshot: Snapshot?
        if progress.next <= log.baseIndex {
            snapshot = log.base
            progress.next = log.baseIndex + 1
        }
        let prevIndex = progress.next - 1
        let entries = log.entries(after: prevIndex, through: prevIndex + settings.maxBatch)
        let append = Append(
            epoch: leadership.epoch, snapshot: snapshot, prevIndex: prevIndex, prevEpoch: epoch(at: prevIndex) ?? .zero,
            entries: entries,
            commitIndex: commitIndex, round: leadership.round)
        progress.inflightSince = progress.inflightSince ?? now
        progress.inflight += 1
        progress.next = prevIndex + entries.count + 1
        progress.sentCommit = commitIndex
        self.leadership?.progress[replica] = progress
        send(.append(append), to: replica.node, out: &out)
    }

    mutating func onAppendReply(from replica: ReplicaID, _ reply: AppendReply, now: UInt64, out: inout [GroupAction]) {
        highestTerm = max(highestTerm, reply.promised.term)
        guard let leadership else { return }
        if reply.promised > leadership.epoch {
            // Deposed: a majority may have promised a newer epoch. Never accept below it again.
            promised = reply.promised
            leaderHint = reply.promised.leader
            leaderConfirmed = false
            promisedAt = now
            stepDown(out: &out, now: now)
            return
        }
        guard reply.epoch == leadership.epoch, var progress = leadership.progress[replica] else { return }
        progress.ackedRound = max(progress.ackedRound, reply.round)
        if reply.success {
            progress.match = max(progress.match, reply.matchIndex)
            progress.next = max(progress.next, progress.match + 1)
            progress.inflight = max(0, progress.inflight - 1)
            progress.inflightSince = progress.inflight == 0 ? nil : now
        } else {
            // The pipeline behind a refused append is refused too: start again from the hint.
            progress.next = max(progress.match + 1, min(progress.next, reply.matchIndex + 1))
            progress.sentCommit = 0
            progress.inflight = 0
            progress.inflightSince = nil
        }
        self.leadership?.progress[replica] = progress
        advanceLeaderCommit(now: now, out: &out)
        completeReads(out: &out)
        guard self.leadership != nil else { return }
        replicateToAll(now: now, out: &out)
    }

    /// Commits the highest entry of the leader's own epoch that a majority of the voters of the
    /// latest configuration holds (the leader counts only if it is a voter). Entries of earlier
    /// epochs are never counted: they commit with it (Raft §5.4.2, the figure 8 trap).
    mutating func advanceLeaderCommit(now: UInt64, out: inout [GroupAction]) {
        guard let leadership, let config = latestConfig?.config else { return }
        var index = lastIndex
        var target = commitIndex
        while index > commitIndex, log.epoch(at: index) == leadership.epoch {
            var holders: Set<ReplicaID> = config.isVoter(me) ? [me] : []
            for (replica, progress) in leadership.progress where progress.match >= index { holders.insert(replica) }
            if config.isMajority(holders) {
                target = index
                break
            }
            index -= 1
        }
        guard target > commitIndex else { return }
        commit(through: target, out: &out)
        answerCommitted(out: &out)
        if let committed = committedConfig, !committed.isVoter(me), latestConfig?.index ?? 0 <= commitIndex {
            // Removed from the group: step down once the removal is committed (Raft §6), after
            // telling everyone the commit index (best effort; followers also stop following a
            // leader their latest configuration removed).
            replicateToAll(now: now, out: &out, force: true)
            leaderHint = nil
            stepDown(out: &out, now: now)
            return
        }
        replicateToAll(now: now, out: &out)
    }

    /// Acks every waiting send whose entry is now committed.
    mutating func answerCommitted(out: inout [GroupAction]) {
        guard let leadership else { return }
        var waiting: [Leadership.PendingSend] = []
        for request in leadership.pending {
            guard request.index <= commitIndex else {
                waiting.append(request)
                continue
            }
            let reply: GroupReply = request.duplicate ? .duplicate(seq: request.seq) : .acked(seq: request.seq)
            out.append(.reply(request: request.request, reply))
        }
        self.leadership?.pending = waiting
    }

    /// Sends again what has been in flight for `retransmitInterval` to replicas gossip says are
    /// alive; for the others, forgets the append (liveness coming back triggers a new one).
    mutating func retransmit(now: UInt64, out: inout [GroupAction]) {
        guard let leadership else { return }
        for (replica, progress) in leadership.progress.sorted(by: { $0.key < $1.key }) {
            guard let since = progress.inflightSince, since + settings.retransmitInterval <= now else { continue }
            // Unanswered for that long: the pipeline is lost; start again after what is known held.
            self.leadership?.progress[replica]?.inflight = 0
            self.leadership?.progress[replica]?.inflightSince = nil
            self.leadership?.progress[replica]?.next = progress.match + 1
            if alive.contains(replica) { sendAppend(to: replica, now: now, out: &out) }
        }
    }

    /// Answers `unavailable` to sends and reads past their deadline. An expired send may still
    /// commit later; its retry then gets the original seq.
    mutating func expireRequests(now: UInt64, out: inout [GroupAction]) {
        guard let leadership else { return }
        for request in leadership.pending where request.deadline <= now {
            out.append(.reply(request: request.request, .unavailable))
        }
        for read in leadership.reads where read.deadline <= now {
            out.append(.reply(request: read.request, .unavailable))
        }
        self.leadership?.pending.removeAll { $0.deadline <= now }
        self.leadership?.reads.removeAll { $0.deadline <= now }
    }
}
