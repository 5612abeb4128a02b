#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension SWIMInstance {
    // MARK: - Suspicion (Lifeguard)

    /// The current suspicion timeout for a suspicion with `confirmations` independent
    /// confirmations (besides the first suspicion).
    func suspicionTimeout(confirmations: Int) -> Int64 {
        let n = activeCount + 1
        let minT = settings.suspicionMinMultiplier * max(1.0, log10(Double(n))) * Double(periodNs)
        let maxT = settings.suspicionMaxMultiplier * minT
        let k = min(settings.expectedConfirmations, n - 2)
        if k < 1 { return Int64(minT) }
        let c = min(max(0, confirmations), k)
        let fraction = log(Double(c + 1)) / log(Double(k + 1))
        return Int64(max(minT, maxT - fraction * (maxT - minT)))
    }

    mutating func expireSuspicions(_ now: SWIMInstant) {
        guard !suspects.isEmpty else { return }
        for id in suspects.sorted() {
            guard let st = others[id], let s = st.suspicion else { continue }
            if now >= s.start + suspicionTimeout(confirmations: s.confirmers.count - 1) {
                var m = st.member
                m.status = .dead
                apply(SWIMUpdate(member: m), now: now, rebroadcast: true)
            }
        }
    }

    // MARK: - Refutation and corrections

    mutating func applyAboutMyself(_ claim: GossipMember) {
        guard leaveDeadline == nil else { return }
        // Another member says that this very process (its metadata, which the node makes unique
        // per process) left, which it never does while running: an operator removed it while it
        // seemed dead (`onRemove`), at whatever incarnation it had then (it may have refuted the
        // death since). It does not refute: it is no longer a member, and the shell stops it.
        // A `.left` about an earlier process with this id (a restart) is refuted as usual.
        if claim.status == .left, claim.metadata == myself.metadata {
            removedByOperator = true
            return
        }
        let refute: Bool
        switch claim.status {
        case .alive: refute = claim.incarnation > myself.incarnation
        case .suspect, .dead, .left: refute = claim.incarnation >= myself.incarnation
        }
        guard refute else { return }
        myself.incarnation = claim.incarnation == .max ? .max : claim.incarnation + 1
        stats.refutations += 1
        if claim.status != .alive {
            localHealth = min(localHealth + 1, settings.maxLocalHealthMultiplier)
        }
        output.append(.memberChanged(myself))
        enqueueBroadcast(SWIMUpdate(member: myself))
    }

    /// Applies the records `message` carries, then answers a sender whose view is stale: news of
    /// members we know dead or left, our refutation (also sent straight to whoever suspected us),
    /// what we believe of the sender itself, or a sync request if we do not know it.
    /// - Returns: our current record if the sender is wrong about us (it goes with our ack if the
    ///   message pinged us), else nothing.
    mutating func receiveUpdates(of message: SWIMMessage, from source: GossipAddress, isSync: Bool, now: SWIMInstant) -> [SWIMUpdate] {
        let wasJoined = isJoined
        var senderIsWrongAboutUs = false
        var suspectors: [String] = []
        var staleNews: [SWIMUpdate] = []
        for update in message.updates {
            if let st = others[update.member.id], update.member.id != message.senderID, !st.member.status.isActive,
                update.member.incarnation < st.member.incarnation
                    || (update.member.incarnation == st.member.incarnation && update.member.status.rank < st.member.status.rank)
            {
                // The sender gossips an older state of a member we know dead or gone (it missed the
                // news, e.g. a leave): tell it, rather than let it suspect and declare on its own.
                staleNews.append(SWIMUpdate(member: st.member))
            }
            apply(update, now: now, rebroadcast: !isSync || wasJoined || update.member.id == message.senderID)
            if update.member.id == myself.id && leaveDeadline == nil
                && (update.member.status != .alive || update.member.incarnation < myself.incarnation)
            {
                senderIsWrongAboutUs = true
                if let by = update.suspectedBy, by != message.senderID, others[by] != nil, !suspectors.contains(by) {
                    suspectors.append(by)
                }
            }
        }
        if !staleNews.isEmpty && leaveDeadline == nil
            && lastStaleReply[message.senderID].map({ now.nanoseconds - $0.nanoseconds >= periodNs }) ?? true
        {
            lastStaleReply[message.senderID] = now
            send(.gossip, to: source, destination: message.senderID, forced: Array(staleNews.prefix(8)))
        }
        // Whoever suspected us gets our refutation straight away: it may be the member least
        // likely to hear the epidemic of the refutation in time (it is not probing us any more).
        for by in suspectors where lastRefutationTo[by].map({ now.nanoseconds - $0.nanoseconds >= periodNs }) ?? true {
            lastRefutationTo[by] = now
            send(.gossip, to: others[by]!.member.address, destination: by, forced: [SWIMUpdate(member: myself)])
        }
        let sender = message.senderID
        var forcedAboutUs: [SWIMUpdate] = []
        if senderIsWrongAboutUs {
            // The sender believes us suspect or dead, or at an old incarnation (its view may be
            // stale: our refutation did not reach it). Our current record goes with our answer.
            forcedAboutUs = [SWIMUpdate(member: myself)]
            if case .ping(_, let target) = message.kind, target == myself.id {
                // Goes with the ack below.
            } else if lastRefutationTo[sender].map({ now.nanoseconds - $0.nanoseconds >= periodNs }) ?? true {
                lastRefutationTo[sender] = now
                send(.gossip, to: source, destination: sender, forced: forcedAboutUs)
            }
        }
        if let st = others[sender] {
            let m = st.member
            let stale =
                m.incarnation > message.senderIncarnation || m.status == .suspect || m.status == .dead
                || (m.status == .left && message.senderIncarnation > m.incarnation)
            if stale {
                // We believe the sender suspect or dead, or it is behind what we know of it: tell it
                // what we believe, so that it refutes (or, if it refuted already, tells us).
                if lastCorrection[sender].map({ now.nanoseconds - $0.nanoseconds >= periodNs }) ?? true {
                    lastCorrection[sender] = now
                    send(.gossip, to: source, destination: sender, forced: [SWIMUpdate(member: m)])
                }
            }
        } else if !isSync && leaveDeadline == nil {
            // A member we do not know (missed its join, or forgot it): ask for its state.
            if lastSyncRequest[source].map({ now.nanoseconds - $0.nanoseconds >= periodNs * 5 }) ?? true {
                lastSyncRequest[source] = now
                send(.sync(replyRequested: true), to: source, destination: sender, forced: [SWIMUpdate(member: myself)])
            }
        }
        return forcedAboutUs
    }

    // MARK: - Local health

    /// We were not running for `gap` (SIGSTOP, a blocked event loop): nothing that timed out in
    /// the meantime is evidence against anyone.
    mutating func stalled(gap: Int64, now: SWIMInstant) {
        stats.stalls += 1
        pending = nil
        relays = [:]
        localHealth = settings.maxLocalHealthMultiplier
        for id in suspects {
            others[id]!.suspicion!.start = others[id]!.suspicion!.start + gap
        }
        nextProbeTime = now + periodNs
        nextSyncTime = max(nextSyncTime, now + periodNs)
        nextJoinAttempt = max(nextJoinAttempt, now)
        nextSeedCheck = max(nextSeedCheck, now + periodNs)
    }
}
