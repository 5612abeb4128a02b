extension SWIMInstance {
    // MARK: - Join

    /// Until joined: a full-state exchange with every seed, retried with back-off. Once joined:
    /// every `joinRetryMaxInterval`, a sync with each seed that is not the address of an alive member.
    mutating func joinThroughSeeds(_ now: SWIMInstant) {
        if !isJoined && !seeds.isEmpty && now >= nextJoinAttempt {
            for seed in seeds { sendFullState(to: seed, replyRequested: true) }
            nextJoinAttempt = now + joinBackoffNs
            joinBackoffNs = min(joinBackoffNs * 2, settings.joinRetryMaxInterval.nanoseconds)
        }
        if isJoined && !seeds.isEmpty && now >= nextSeedCheck {
            nextSeedCheck = now + settings.joinRetryMaxInterval.nanoseconds
            var active: Set<GossipAddress> = []
            for st in others.values where st.member.status == .alive { active.insert(st.member.address) }
            for seed in seeds where !active.contains(seed) {
                send(.sync(replyRequested: true), to: seed, destination: nil, forced: [SWIMUpdate(member: myself)])
            }
        }
    }

    /// Reconnect (memberlist, Serf): every `deadMemberProbeInterval`, the next dead member in
    /// turn is asked for a full-state exchange, carrying our own record. If it is running and
    /// reachable again (a healed partition, a returning host), each side then tells the other
    /// what it believes (corrections), both refute, and the two views merge within a few periods.
    mutating func probeDeadMember(_ now: SWIMInstant) {
        guard now >= nextDeadProbe else { return }
        nextDeadProbe = now + max(periodNs, settings.deadMemberProbeInterval.nanoseconds)
        let dead = memberIDs.filter { others[$0]!.member.status == .dead }
        guard !dead.isEmpty else { return }
        deadProbeIndex = deadProbeIndex % dead.count
        let id = dead[deadProbeIndex]
        deadProbeIndex += 1
        stats.deadProbes += 1
        send(.sync(replyRequested: true), to: others[id]!.member.address, destination: nil, forced: [SWIMUpdate(member: myself)])
    }

    /// Dead members, in the order they are re-probed.
    public var deadMembers: [GossipMember] {
        memberIDs.compactMap { others[$0]!.member.status == .dead ? others[$0]!.member : nil }
    }

    // MARK: - Member table

    mutating func apply(_ update: SWIMUpdate, now: SWIMInstant, rebroadcast: Bool) {
        let new = update.member
        if new.id == myself.id {
            applyAboutMyself(new)
            return
        }
        guard let st = others[new.id] else {
            add(update, now: now, rebroadcast: rebroadcast)
            return
        }
        let old = st.member
        if new.incarnation > old.incarnation || (new.incarnation == old.incarnation && new.status.rank > old.status.rank) {
            replace(st, with: update, now: now)
            if rebroadcast { enqueueBroadcast(update) }
        } else if new.incarnation == old.incarnation, new.status == .suspect, old.status == .suspect,
            let by = update.suspectedBy, !st.suspicion!.confirmers.contains(by)
        {
            // An independent confirmation (Lifeguard): shortens the timeout; pass it on.
            others[new.id]!.suspicion!.confirmers.append(by)
            if rebroadcast { enqueueBroadcast(update) }
        }
    }

    mutating func add(_ update: SWIMUpdate, now: SWIMInstant, rebroadcast: Bool) {
        let m = update.member
        var st = MemberState(member: m, since: now, suspicion: nil)
        switch m.status {
        case .alive:
            activeCount += 1
            aliveOthers += 1
        case .suspect:
            activeCount += 1
            st.suspicion = Suspicion(start: now, confirmers: [update.suspectedBy ?? ""], probedByUs: false)
            suspects.insert(m.id)
            stats.suspicions += 1
        case .dead, .left:
            inactive.insert(m.id)
        }
        others[m.id] = st
        let index = insertionIndex(m.id)
        memberIDs.insert(m.id, at: index)
        if m.status.isActive {
            // Probed within the current round.
            let at = probeIndex + Int(rng.next() % UInt64(probeOrder.count - probeIndex + 1))
            probeOrder.insert(m.id, at: min(at, probeOrder.count))
        }
        output.append(.memberChanged(m))
        if rebroadcast { enqueueBroadcast(update) }
    }

    mutating func replace(_ st: MemberState, with update: SWIMUpdate, now: SWIMInstant) {
        let old = st.member
        let new = update.member
        var next = MemberState(member: new, since: now, suspicion: nil)
        if old.status.isActive { activeCount -= 1 }
        if new.status.isActive { activeCount += 1 }
        if old.status == .alive { aliveOthers -= 1 }
        if new.status == .alive { aliveOthers += 1 }
        if new.status == .suspect {
            next.suspicion = Suspicion(start: now, confirmers: [update.suspectedBy ?? ""], probedByUs: false)
            suspects.insert(new.id)
            stats.suspicions += 1
        } else {
            suspects.remove(new.id)
        }
        if new.status.isActive {
            inactive.remove(new.id)
            if !old.status.isActive {
                let at = probeIndex + Int(rng.next() % UInt64(probeOrder.count - probeIndex + 1))
                probeOrder.insert(new.id, at: min(at, probeOrder.count))
            }
        } else {
            inactive.insert(new.id)
            if new.status == .dead { stats.deaths += 1 }
            if pending?.target == new.id { pending = nil }
        }
        others[new.id] = next
        output.append(.memberChanged(new))
    }

    func insertionIndex(_ id: String) -> Int {
        var lo = 0
        var hi = memberIDs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if memberIDs[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    // MARK: - Retention

    mutating func forgetOldMembers(_ now: SWIMInstant) {
        guard !inactive.isEmpty else { return }
        let retention = settings.deadMemberRetention.nanoseconds
        let reconnect = max(retention, settings.reconnectTimeout.nanoseconds)
        for id in inactive.sorted() {
            guard let st = others[id] else { continue }
            let keep = st.member.status == .dead ? reconnect : retention
            guard now.nanoseconds - st.since.nanoseconds >= keep else { continue }
            others[id] = nil
            inactive.remove(id)
            broadcasts[id] = nil
            lastCorrection[id] = nil
            memberIDs.remove(at: insertionIndex(id))
        }
        if lastSyncRequest.count > 64 { lastSyncRequest = [:] }
        if lastRefutationTo.count > 2 * memberIDs.count + 16 { lastRefutationTo = [:] }
        if lastCorrection.count > 2 * memberIDs.count + 16 { lastCorrection = [:] }
        if lastStaleReply.count > 2 * memberIDs.count + 16 { lastStaleReply = [:] }
    }

    // MARK: - Random picks

    /// Up to `count` distinct random members (alive, or alive and suspect), never `excluding`.
    mutating func randomMembers(count: Int, excluding: String?, aliveOnly: Bool) -> [String] {
        guard count > 0, !memberIDs.isEmpty else { return [] }
        func eligible(_ id: String) -> Bool {
            guard id != excluding, let st = others[id] else { return false }
            return aliveOnly ? st.member.status == .alive : st.member.status.isActive
        }
        var chosen: [String] = []
        var attempts = 0
        let available = (aliveOnly ? aliveOthers : activeCount) - (excluding == nil ? 0 : 1)
        if memberIDs.count <= 4 * count || available <= 2 * count {
            var all = memberIDs.filter(eligible)
            all.shuffle(using: &rng)
            return Array(all.prefix(count))
        }
        while chosen.count < count && attempts < 8 * count {
            attempts += 1
            let id = memberIDs[Int(rng.next() % UInt64(memberIDs.count))]
            if eligible(id) && !chosen.contains(id) { chosen.append(id) }
        }
        if chosen.count < count {
            var all = memberIDs.filter { eligible($0) && !chosen.contains($0) }
            all.shuffle(using: &rng)
            chosen.append(contentsOf: all.prefix(count - chosen.count))
        }
        return chosen
    }
}
