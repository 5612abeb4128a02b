extension InvariantChecker {
    /// Guarantee 2: gaps in the live stream of a connection (see the type's rules).
    ///
    /// Per connection and room whose `join` was answered with seq J, the base is max(J, since).
    /// A seq above the base "should have arrived live" when it was acked at least `liveGrace`
    /// before the connection's live window ended, or when a live frame above it arrived on the
    /// connection. Every maximal run of seqs above the base that did not arrive live and holds at
    /// least one such seq is one gap; its time is the ack of its first acked seq (or the live frame
    /// that revealed it), and the report says whether `history` filled it later.
    func checkLiveGaps(
        _ observations: ChaosObservations, ackedBySeq: [String: [UInt64: AckedMessage]], into tally: inout ViolationTally
    ) {
        for client in observations.clients {
            for stream in client.streams {
                let byGeneration = Dictionary(grouping: stream.deliveries, by: \.generation)
                let filled = Set(stream.deliveries.filter { $0.kind == .fill }.map(\.seq))
                let acked = ackedBySeq[stream.room] ?? [:]
                for span in client.spans {
                    guard let join = span.joins[stream.room], let joinedSeq = join.seq, let joinedAt = join.answeredAt else { continue }
                    let live = (byGeneration[span.generation] ?? []).filter { $0.kind == .live }
                    let gaps = liveGaps(
                        base: max(joinedSeq, join.since), live: live, acked: acked,
                        windowEnd: span.liveEnd(observedAt: client.observedAt))
                    let node = span.describe(names: observations.nodeName)
                    let closed = span.closedAt.map { "closed \(format($0)) s" } ?? "open at the end"
                    for gap in gaps {
                        let firstAck = gap.seqs.lazy.compactMap { acked[$0] }.first
                        let revealed = live.first { $0.seq > gap.seqs.upperBound }
                        let at = min(firstAck.map { $0.ackedAt + liveGrace } ?? .infinity, revealed?.at ?? .infinity)
                        let wasFilled = gap.seqs.allSatisfy { filled.contains($0) }
                        var detail =
                            "\(client.user) in \(stream.room) on \(node): seqs \(gap.seqs.lowerBound)–\(gap.seqs.upperBound) "
                            + "(\(gap.seqs.count)) never arrived live; joined at \(format(joinedAt)) s with seq \(joinedSeq) "
                            + "(since \(join.since)), \(closed)"
                        if let firstAck {
                            detail +=
                                "; \(firstAck.key.description) acked as seq \(firstAck.seq) at \(format(firstAck.ackedAt)) s via \(firstAck.via)"
                        }
                        if let revealed { detail += "; next live frame seq \(revealed.seq) at \(format(revealed.at)) s" }
                        detail += wasFilled ? "; later filled by history" : "; never filled"
                        tally.record(.gapOnLiveConnection, detail, at: at == .infinity ? joinedAt : at)
                    }
                }
            }
        }
    }

    /// The gaps of one connection's live stream of one room: maximal runs of seqs above `base`
    /// that did not arrive live, each holding a seq that should have (acked by `windowEnd -
    /// liveGrace`, or below a live frame that did arrive). Pure, for tests.
    func liveGaps(base: UInt64, live: [Delivery], acked: [UInt64: AckedMessage], windowEnd: Double) -> [LiveGap] {
        let liveSeqs = Set(live.map(\.seq))
        let highestLive = live.map(\.seq).max() ?? 0
        let due = acked.values.filter { $0.seq > base && $0.ackedAt + liveGrace <= windowEnd }.map(\.seq)
        let top = max(highestLive, due.max() ?? 0)
        guard top > base else { return [] }
        let dueSet = Set(due)
        var gaps: [LiveGap] = []
        var runStart: UInt64?
        var runHasDue = false
        for seq in (base + 1)...top {
            if liveSeqs.contains(seq) {
                if let start = runStart, runHasDue { gaps.append(LiveGap(seqs: start...(seq - 1))) }
                runStart = nil
                runHasDue = false
                continue
            }
            if runStart == nil { runStart = seq }
            if seq < highestLive || dueSet.contains(seq) { runHasDue = true }
        }
        if let start = runStart, runHasDue {
            // A trailing run ends at the last seq that was due (later ones were not yet).
            let end = dueSet.filter { $0 >= start }.max() ?? top
            gaps.append(LiveGap(seqs: start...end))
        }
        return gaps
    }
}

/// Seqs that should have arrived live on one connection and did not.
struct LiveGap: Sendable, Hashable {
    var seqs: ClosedRange<UInt64>
}
