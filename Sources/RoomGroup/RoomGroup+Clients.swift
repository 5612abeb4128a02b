/// Client requests: sends (with idempotency) and read barriers.
extension RoomGroup {
    /// The answer of a replica that cannot serve: the leader it knows, or `unavailable`.
    var redirect: GroupReply {
        if let hint = leaderHint, hint != me, alive.contains(hint) { return .notLeader(hint: hint.node) }
        return .unavailable
    }

    /// A leader that does not see a majority of its voters alive answers `unavailable` at once
    /// instead of letting the request time out: a cut-off minority fails fast.
    var leaderSeesMajority: Bool { latestConfig?.config.isMajority(alive) ?? false }

    /// A new message is appended with the next seq and acked once committed. A retry of a recent
    /// `(user, id)` found anywhere in the leader's log (committed or not) creates nothing: it is
    /// answered `duplicate` with the original seq once that entry commits. The leader's log holds
    /// every committed entry, so an id is never sequenced twice within the window.
    mutating func clientSend(request: UInt64, key: MessageKey, text: String, now: UInt64, out: inout [GroupAction]) {
        guard let epoch = leadership?.epoch else {
            repeatResignation(now: now, out: &out)
            return out.append(.reply(request: request, redirect))
        }
        guard leaderSeesMajority else { return out.append(.reply(request: request, .unavailable)) }
        let deadline = now + settings.requestTimeout
        if let found = recent(key) {
            if found.index <= commitIndex { return out.append(.reply(request: request, .duplicate(seq: found.seq))) }
            leadership?.pending.append(.init(request: request, index: found.index, seq: found.seq, deadline: deadline, duplicate: true))
            return
        }
        let ts = max(lastTs, Int64(now / 1_000_000) + settings.wallClockOffset)
        let message = GroupChatMessage(seq: lastSeq + 1, user: key.user, id: key.id, text: text, ts: ts)
        appendEntry(LogEntry(epoch: epoch, payload: .message(message)))
        let index = lastIndex
        leadership?.pending.append(.init(request: request, index: index, seq: message.seq, deadline: deadline, duplicate: false))
        replicateToAll(now: now, out: &out)
        advanceLeaderCommit(now: now, out: &out)
    }

    /// A leader appends what `update` changes in `node`'s presence, judged against its whole
    /// log (nothing when nothing changes). It needs no reply: the change takes effect for
    /// clients when it commits (`.presence`).
    mutating func clientPresence(node: String, _ update: PresenceUpdate, now: UInt64, out: inout [GroupAction]) {
        guard let epoch = leadership?.epoch else { return }
        let changes = presence.changes(node: node, update)
        guard !changes.isEmpty else { return }
        appendEntry(LogEntry(epoch: epoch, payload: .presence(changes)))
        replicateToAll(now: now, out: &out)
        advanceLeaderCommit(now: now, out: &out)
    }

    /// Raft's read index: the leader confirms it still leads with one round of appends answered
    /// by a majority after the request, and (as a new leader) waits for its no-op to commit.
    mutating func clientRead(request: UInt64, now: UInt64, out: inout [GroupAction]) {
        guard leadership != nil else {
            repeatResignation(now: now, out: &out)
            return out.append(.reply(request: request, redirect))
        }
        guard leaderSeesMajority else { return out.append(.reply(request: request, .unavailable)) }
        leadership!.round += 1
        let round = leadership!.round
        leadership?.reads.append(.init(request: request, round: round, deadline: now + settings.requestTimeout))
        for replica in replicationTargets where alive.contains(replica) && voters.contains(replica) {
            sendAppend(to: replica, now: now, out: &out)
        }
        completeReads(out: &out)
    }

    mutating func completeReads(out: inout [GroupAction]) {
        guard let leadership, commitIndex >= leadership.noopIndex, let config = latestConfig?.config else { return }
        var done: [UInt64] = []
        for read in leadership.reads {
            var confirmed: Set<ReplicaID> = config.isVoter(me) ? [me] : []
            for (replica, progress) in leadership.progress where progress.ackedRound >= read.round { confirmed.insert(replica) }
            if config.isMajority(confirmed) {
                out.append(.reply(request: read.request, .readable(seq: seq(through: commitIndex))))
                done.append(read.request)
            }
        }
        self.leadership?.reads.removeAll { done.contains($0.request) }
    }
}
