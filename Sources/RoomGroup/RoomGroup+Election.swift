/// Choosing a leader: who campaigns when, promises, and taking over the most advanced log.
extension RoomGroup {
    /// Voters in ring order: the placement's order first, then the rest by name.
    func ringOrder(_ replicas: [ReplicaID]) -> [ReplicaID] {
        replicas.sorted { a, b in
            let ia = placement.firstIndex(of: a.node) ?? Int.max
            let ib = placement.firstIndex(of: b.node) ?? Int.max
            return ia != ib ? ia < ib : a < b
        }
    }

    /// This replica's place among the live voters in ring order (0: it should lead).
    var rank: Int {
        let live = ringOrder(voters.filter { alive.contains($0) })
        return live.firstIndex(of: me) ?? live.count
    }

    /// Whether this replica follows a leader (or a promised candidate) that may still be working:
    /// gossip says it is alive, the latest configuration has not removed it, and a promised
    /// candidate has sent an append within `candidateGrace`.
    func leaderKnownAlive(now: UInt64) -> Bool {
        guard let leader = leaderHint, leader != me, alive.contains(leader) else { return false }
        // A leader removed by the latest configuration steps down once that commits, and no
        // heartbeat will say so: stop following it as soon as the removal is in the log.
        if let latest = latestConfig?.config, !latest.isVoter(leader) { return false }
        if !leaderConfirmed, now >= promisedAt + settings.candidateGrace { return false }
        return true
    }

    /// Campaigns when this voter has no live leader, sees a majority of the voters alive, and
    /// its rank's delay has passed. With no majority in sight it stays silent (no retries), so a
    /// cut-off minority neither loads the network nor raises epochs.
    mutating func evaluateLeadership(now: UInt64, out: inout [GroupAction]) {
        guard leadership == nil else {
            campaignAt = nil
            return
        }
        guard campaign == nil, !excludedByNewerLog, !retired else { return }
        guard !leaderKnownAlive(now: now), isVoter, let config = latestConfig?.config, config.isMajority(alive) else {
            campaignAt = nil
            return
        }
        if campaignAt == nil { campaignAt = now + settings.campaignStagger * UInt64(rank) }
        if let at = campaignAt, at <= now {
            campaignAt = nil
            startCampaign(now: now, out: &out)
        }
    }

    mutating func startCampaign(now: UInt64, out: inout [GroupAction]) {
        highestTerm = max(highestTerm, promised.term, lastEpoch.term) + 1
        let epoch = Epoch(term: highestTerm, leader: me)
        campaign = Campaign(epoch: epoch, from: commitIndex, deadline: now + settings.campaignTimeout)
        askForPromises(Set(voters.map(\.node)).union(placement), out: &out)
        tryWin(now: now, out: &out)
    }

    /// Sends `prepare` to those of `nodes` that gossip says are alive and were not asked yet.
    mutating func askForPromises(_ nodes: Set<String>, out: inout [GroupAction]) {
        guard var campaign else { return }
        for node in nodes.subtracting(campaign.asked).subtracting([me.node]).sorted() where aliveBoot[node] != nil {
            campaign.asked.insert(node)
            send(.prepare(epoch: campaign.epoch, from: campaign.from, voters: voters), to: node, out: &out)
        }
        self.campaign = campaign
    }

    /// A promise is granted only for an epoch above every one promised (so each epoch is promised
    /// once), never by a leader, never below a running campaign of this replica, and not while
    /// this replica follows another leader that gossip says is alive and that it heard from
    /// within `GroupSettings.stickiness` (Raft §6's rule against disruptive servers), unless the
    /// candidate's configuration (`candidateVoters`) has removed that leader. Without the time
    /// bound, a leader deposed by others but still alive would keep its followers loyal forever.
    /// A promise to a candidate that has not yet won binds nothing beyond its epoch: a newer
    /// candidate gets the promise (as a Raft vote is per term), or two candidates that each hold
    /// one of the promises the other needs would refuse each other forever.
    mutating func onPrepare(
        from candidate: ReplicaID, epoch: Epoch, tailFrom: Int, candidateVoters: [ReplicaID], now: UInt64, out: inout [GroupAction]
    ) {
        highestTerm = max(highestTerm, epoch.term)
        if let leadership, epoch > leadership.epoch {
            // A leader refuses to be deposed while it works, but an idle leader sends nothing and
            // would never learn that a majority moved on. One that cannot see a majority of its
            // voters cannot commit anyway: it steps down and may grant. Otherwise it probes every
            // replica at once; a reply from a newer epoch deposes it, and the candidate retries.
            if leaderSeesMajority {
                replicateToAll(now: now, out: &out, force: true)
            } else {
                stepDown(out: &out, now: now)
            }
        }
        var grant = epoch > promised && leadership == nil
        if let campaign, epoch <= campaign.epoch { grant = false }
        // The candidate's voters lift loyalty only if it has committed this replica's latest
        // configuration: a stale candidate that never heard of the current leader must not
        // depose it.
        let candidateIsCurrent = tailFrom >= (latestConfig?.index ?? 0)
        if grant, leaderKnownAlive(now: now), let leader = leaderHint, leader != candidate,
            candidateVoters.contains(leader) || !candidateIsCurrent,
            leaderConfirmed, now < lastLeaderContact + settings.stickiness
        {
            grant = false
        }
        var entries: [LogEntry] = []
        var snapshot: Snapshot?
        if grant {
            promised = epoch
            leaderHint = candidate
            leaderConfirmed = false
            promisedAt = now
            campaign = nil
            campaignAt = nil
            if tailFrom < log.baseIndex { snapshot = log.base }
            entries = log.entries(after: max(tailFrom, log.baseIndex), through: lastIndex)
        }
        let promise = Promise(
            epoch: epoch, granted: grant, promised: promised, lastEpoch: lastEpoch, lastIndex: lastIndex, snapshot: snapshot,
            entries: entries)
        send(.promise(promise), to: candidate.node, out: &out)
    }

    mutating func onPromise(from replica: ReplicaID, _ promise: Promise, now: UInt64, out: inout [GroupAction]) {
        highestTerm = max(highestTerm, promise.promised.term)
        guard var campaign, promise.epoch == campaign.epoch, promise.granted else { return }
        campaign.promises[replica] = promise
        self.campaign = campaign
        tryWin(now: now, out: &out)
    }

    /// Wins once the promisers (and the candidate) are a majority of the configuration of the
    /// most advanced log among them, with the candidate a voter of it. This is a Raft election of
    /// that log's holder by the same quorum, so every committed entry is in the log taken over.
    mutating func tryWin(now: UInt64, out: inout [GroupAction]) {
        guard let campaign else { return }
        var best: (epoch: Epoch, index: Int) = (lastEpoch, lastIndex)
        var bestPromise: Promise?
        for (_, promise) in campaign.promises.sorted(by: { $0.key < $1.key }) where promise.lastIndex >= campaign.from {
            if (promise.lastEpoch, promise.lastIndex) > (best.epoch, best.index) {
                best = (promise.lastEpoch, promise.lastIndex)
                bestPromise = promise
            }
        }
        let config: GroupConfig?
        if let promise = bestPromise {
            config =
                promise.entries.last(where: { $0.config != nil })?.config ?? promise.snapshot?.config
                ?? self.config(atOrBelow: campaign.from)?.config
        } else {
            config = latestConfig?.config
        }
        guard let config, config.isVoter(me) else {
            // A more advanced log has left this replica out: it cannot win, so it stops
            // campaigning (and raising epochs) until a leader's append tells it more.
            if bestPromise != nil {
                self.campaign = nil
                excludedByNewerLog = true
            }
            return
        }
        // Voters of a configuration only a promise revealed must be asked too, or a candidate
        // that lacks the entry adding them could never gather that configuration's majority.
        askForPromises(Set(config.voters.map(\.node)), out: &out)
        guard config.isMajority(Set(campaign.promises.keys).union([me])), promised < campaign.epoch else { return }
        promised = campaign.epoch
        leaderHint = me
        leaderConfirmed = true
        if let promise = bestPromise {
            // The promiser's snapshot is committed state; installing it cannot drop anything
            // committed (checked in `install`), and its tail then follows it.
            if let snapshot = promise.snapshot { install(snapshot, out: &out) }
            adopt(promise.entries, after: promise.snapshot?.index ?? campaign.from)
        }
        becomeLeader(campaign.epoch, now: now, out: &out)
    }

    /// The leader of `epoch` resigned: a follower loyal to it stops waiting for it and, if it
    /// should lead, campaigns after its rank's delay.
    mutating func onResign(from sender: ReplicaID, epoch: Epoch, now: UInt64) {
        guard promised == epoch, leaderHint == sender, leadership == nil else { return }
        leaderConfirmed = false
        promisedAt = now >= settings.candidateGrace ? now - settings.candidateGrace : 0
    }

    /// A replica that resigned and is still asked to serve says so again (at most once per
    /// `retransmitInterval`): its resignation may have been lost, and clients come to it because
    /// its followers still name it.
    mutating func repeatResignation(now: UInt64, out: inout [GroupAction]) {
        guard leadership == nil, let (epoch, at) = resigned, now >= at + settings.retransmitInterval else { return }
        resign(epoch, now: now, out: &out)
    }

    /// Tells every live replica that this replica no longer leads `epoch`.
    mutating func resign(_ epoch: Epoch, now: UInt64, out: inout [GroupAction]) {
        resigned = (epoch, now)
        for replica in replicationTargets where alive.contains(replica) {
            send(.resign(epoch: epoch), to: replica.node, out: &out)
        }
    }

    /// Makes the log equal to this log up to `from` followed by `entries`, touching only what
    /// differs (entries up to the commit index are equal by the argument above).
    mutating func adopt(_ entries: [LogEntry], after from: Int) {
        for (offset, entry) in entries.enumerated() {
            let index = from + 1 + offset
            if index <= lastIndex, epoch(at: index) == entry.epoch { continue }
            truncate(from: index)
            appendEntry(entry)
        }
        truncate(from: from + entries.count + 1)
    }

    mutating func becomeLeader(_ epoch: Epoch, now: UInt64, out: inout [GroupAction]) {
        campaign = nil
        campaignAt = nil
        // The previous leader wrote what it committed to the history store off the ack path and
        // may have died before a write landed: the recent committed messages are written again
        // (a store keeps one message per seq, so a second write changes nothing).
        let recent = recentlyCommitted(now: now)
        if !recent.isEmpty { out.append(.persist(recent)) }
        appendEntry(LogEntry(epoch: epoch, payload: .noop))
        leadership = Leadership(epoch: epoch, noopIndex: lastIndex)
        replicateToAll(now: now, out: &out)
        advanceLeaderCommit(now: now, out: &out)
    }

    /// Leaves leadership; every waiting request is told where to go (or `unavailable`), and
    /// every replica that it has stopped leading (`resign`).
    mutating func stepDown(out: inout [GroupAction], now: UInt64) {
        guard let leadership else { return }
        resign(leadership.epoch, now: now, out: &out)
        let answer: GroupReply
        if let hint = leaderHint, hint != me, alive.contains(hint) {
            answer = .notLeader(hint: hint.node)
        } else {
            answer = .unavailable
        }
        for request in leadership.pending { out.append(.reply(request: request.request, answer)) }
        for read in leadership.reads { out.append(.reply(request: read.request, answer)) }
        self.leadership = nil
        if leaderHint == me { leaderHint = nil }
    }
}
