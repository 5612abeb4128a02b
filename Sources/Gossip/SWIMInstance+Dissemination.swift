#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension SWIMInstance {
    // MARK: - Piggyback queue

    mutating func enqueueBroadcast(_ update: SWIMUpdate) {
        broadcastCounter += 1
        let size = SWIMCodec.encodedSize(of: update)
        guard size <= SWIMCodec.maxRecordSize else { return }
        broadcasts[update.member.id] = Broadcast(update: update, size: size, transmits: 0, order: broadcastCounter)
    }

    /// Each update is sent at most this many times by this node: ceil(λ·ln(n+1)).
    var retransmitLimit: Int {
        max(1, Int((settings.retransmitMultiplier * log(Double(activeCount + 2))).rounded(.up)))
    }

    var payloadBudget: Int { settings.maxDatagramSize - GossipSealer.overhead }

    mutating func send(
        _ kind: SWIMMessageKind, to address: GossipAddress, destination: String?, forced: [SWIMUpdate] = []
    ) {
        var forced = forced
        if let destination, let st = others[destination], st.member.status == .suspect,
            !forced.contains(where: { $0.member.id == destination })
        {
            // Lifeguard's buddy system: a suspect always hears of its suspicion from us.
            forced.append(SWIMUpdate(member: st.member, suspectedBy: st.suspicion?.confirmers.first { !$0.isEmpty }))
        }
        var message = SWIMMessage(senderID: myself.id, senderIncarnation: myself.incarnation, kind: kind, updates: forced)
        var budget = payloadBudget - SWIMCodec.encodedHeaderSize(of: message) - 2
        for u in forced { budget -= SWIMCodec.encodedSize(of: u) }
        if !broadcasts.isEmpty && budget > 0 {
            message.updates.append(contentsOf: takePiggyback(budget: budget, destination: destination, skip: forced))
        }
        output.append(.send(message, to: address))
    }

    /// Updates about the destination first (so a suspect learns of its suspicion at once), then
    /// the least transmitted, newest first.
    mutating func takePiggyback(budget: Int, destination: String?, skip: [SWIMUpdate]) -> [SWIMUpdate] {
        let limit = retransmitLimit
        var candidates = Array(broadcasts.values)
        candidates.sort { a, b in
            let aDest = a.update.member.id == destination
            let bDest = b.update.member.id == destination
            if aDest != bDest { return aDest }
            if a.transmits != b.transmits { return a.transmits < b.transmits }
            return a.order > b.order
        }
        var left = budget
        var chosen: [SWIMUpdate] = []
        for c in candidates {
            if left < 8 { break }
            guard c.size <= left, !skip.contains(where: { $0.member.id == c.update.member.id }) else { continue }
            left -= c.size
            chosen.append(c.update)
            let id = c.update.member.id
            if c.transmits + 1 >= limit {
                broadcasts[id] = nil
            } else {
                broadcasts[id]!.transmits += 1
            }
        }
        return chosen
    }

    mutating func gossipFanout(_ now: SWIMInstant, forced: [SWIMUpdate]) {
        // While we suspect members, the one suspected longest gets one of the slots every period:
        // it hears of its suspicion from us (buddy system) and answers with its refutation, even
        // if the epidemic of that refutation passed us by.
        var suspect: String?
        if leaveDeadline == nil {
            var oldest: SWIMInstant?
            for id in suspects {
                guard let start = others[id]?.suspicion?.start else { continue }
                if oldest == nil || start < oldest! || (start == oldest! && id < suspect!) {
                    oldest = start
                    suspect = id
                }
            }
        }
        if let suspect {
            send(.gossip, to: others[suspect]!.member.address, destination: suspect, forced: forced)
        }
        guard !broadcasts.isEmpty || !forced.isEmpty else { return }
        let count = settings.gossipFanout - (suspect == nil ? 0 : 1)
        for id in randomMembers(count: count, excluding: suspect, aliveOnly: false) {
            if forced.isEmpty && broadcasts.isEmpty { break }
            send(.gossip, to: others[id]!.member.address, destination: id, forced: forced)
        }
    }

    /// Our full state (ourselves first), cut into datagrams.
    mutating func sendFullState(to address: GossipAddress, replyRequested: Bool) {
        let header = SWIMMessage(senderID: myself.id, senderIncarnation: myself.incarnation, kind: .sync(replyRequested: replyRequested))
        let budget = payloadBudget - SWIMCodec.encodedHeaderSize(of: header) - 2
        var records = [SWIMUpdate(member: myself)]
        for id in memberIDs {
            let st = others[id]!
            records.append(
                SWIMUpdate(
                    member: st.member, suspectedBy: st.member.status == .suspect ? st.suspicion?.confirmers.first { !$0.isEmpty } : nil))
        }
        var chunk: [SWIMUpdate] = []
        var used = 0
        var first = true
        func flush(_ out: inout [SWIMDirective]) {
            var m = header
            m.kind = .sync(replyRequested: replyRequested && first)
            m.updates = chunk
            out.append(.send(m, to: address))
            first = false
            chunk = []
            used = 0
        }
        for r in records {
            let size = SWIMCodec.encodedSize(of: r)
            guard size <= SWIMCodec.maxRecordSize else { continue }
            if used + size > budget { flush(&output) }
            chunk.append(r)
            used += size
        }
        if !chunk.isEmpty { flush(&output) }
    }

    // MARK: - Anti-entropy

    /// A full-state exchange with a random alive member: a few soon after joining, then every
    /// `syncInterval` (longer in bigger clusters).
    mutating func antiEntropySync(_ now: SWIMInstant) {
        if let id = randomMembers(count: 1, excluding: nil, aliveOnly: true).first {
            sendFullState(to: others[id]!.member.address, replyRequested: true)
        }
        let chunks = Int64(max(1, (memberIDs.count + 1) / 8))
        if postJoinSyncs > 0 {
            postJoinSyncs -= 1
            nextSyncTime = now + periodNs * 2
        } else {
            nextSyncTime = now + Int64(Double(settings.syncInterval.nanoseconds * chunks) * (0.75 + 0.5 * rng.nextUnit()))
        }
    }
}
