extension SWIMInstance {
    // MARK: - Probe timeouts

    /// A direct probe without an ack by the probe timeout: ping once more and ask `k` members to
    /// ping the target for us; no ack by the end of the period: the probe failed. Relays we run
    /// for others send their nack when the target did not answer in time, and expire.
    mutating func checkProbeTimeouts(_ now: SWIMInstant) {
        if var p = pending {
            if !p.indirectSent && now >= p.directDeadline {
                p.indirectSent = true
                let relaysChosen = randomMembers(count: settings.indirectProbes, excluding: p.target, aliveOnly: true)
                p.expectedNacks = relaysChosen.count
                pending = p
                send(.ping(sequence: p.sequence, target: p.target), to: p.address, destination: p.target)
                for id in relaysChosen {
                    send(
                        .pingRequest(sequence: p.sequence, target: p.target, targetAddress: p.address),
                        to: others[id]!.member.address, destination: id)
                }
            }
            if now >= p.endDeadline { probeFailed(p, now: now) }
        }
        for seq in relays.keys.sorted() {  // sorted: no dependence on hashing order
            guard var r = relays[seq] else { continue }
            if !r.nackSent && now >= r.nackDeadline {
                r.nackSent = true
                relays[seq] = r
                send(.nack(sequence: r.originSequence), to: r.origin, destination: nil)
            }
            if now >= r.expiry { relays[seq] = nil }
        }
    }

    // MARK: - Probes

    mutating func startProbe(_ now: SWIMInstant) {
        guard let target = nextProbeTarget() else { return }
        let address = others[target]!.member.address
        let scale = Int64(1 + localHealth)
        pending = PendingProbe(
            sequence: takeSequence(), target: target, address: address,
            directDeadline: now + probeTimeoutNs * scale, endDeadline: now + periodNs * scale)
        send(.ping(sequence: pending!.sequence, target: target), to: address, destination: target)
    }

    mutating func nextProbeTarget() -> String? {
        // Suspects we have not probed since they became suspect, oldest suspicion first.
        var best: (String, SWIMInstant)?
        for id in suspects {
            guard let s = others[id]?.suspicion, !s.probedByUs else { continue }
            if best == nil || s.start < best!.1 || (s.start == best!.1 && id < best!.0) { best = (id, s.start) }
        }
        if let (id, _) = best {
            others[id]!.suspicion!.probedByUs = true
            return id
        }
        if activeCount == 0 { return nil }
        var reshuffled = false
        while true {
            if probeIndex >= probeOrder.count {
                if reshuffled { return nil }
                reshuffled = true
                probeOrder = memberIDs.filter { others[$0]!.member.status.isActive }
                probeOrder.shuffle(using: &rng)
                probeIndex = 0
            }
            let id = probeOrder[probeIndex]
            probeIndex += 1
            if let st = others[id], st.member.status.isActive {
                if st.member.status == .suspect { others[id]!.suspicion!.probedByUs = true }
                return id
            }
        }
    }

    mutating func probeFailed(_ p: PendingProbe, now: SWIMInstant) {
        pending = nil
        stats.failedProbes += 1
        if p.expectedNacks > 0 {
            localHealth += max(0, p.expectedNacks - p.nacks)
        } else {
            localHealth += 1
        }
        localHealth = min(localHealth, settings.maxLocalHealthMultiplier)
        guard let st = others[p.target], st.member.status.isActive else { return }
        var m = st.member
        m.status = .suspect
        apply(SWIMUpdate(member: m, suspectedBy: myself.id), now: now, rebroadcast: true)
        if others[p.target]?.suspicion != nil { others[p.target]!.suspicion!.probedByUs = true }
    }

    mutating func takeSequence() -> UInt64 {
        defer { nextSequence &+= 1 }
        return nextSequence
    }
}
