extension InvariantChecker {
    /// Guarantee 4: every answered `join` (with the `since` the client sent) against the
    /// `joined.history` it got (the resume deliveries of that connection, in order).
    func checkResumes(_ observations: ChaosObservations, into tally: inout ViolationTally) {
        let limit = UInt64(max(0, observations.historyLimit))
        for client in observations.clients {
            for stream in client.streams {
                let resumes = Dictionary(grouping: stream.deliveries.filter { $0.kind == .resume }, by: \.generation)
                for span in client.spans {
                    guard let join = span.joins[stream.room], let joinedSeq = join.seq, let at = join.answeredAt else { continue }
                    let history = (resumes[span.generation] ?? []).map(\.seq)
                    let who = "\(client.user) in \(stream.room) on \(span.describe(names: observations.nodeName))"
                    let asked = "join since \(join.since) answered seq \(joinedSeq)"
                    for problem in resumeProblems(
                        since: join.since, joinedSeq: joinedSeq, truncated: join.truncated, history: history, limit: limit)
                    {
                        tally.record(.resumeGap, "\(who): \(asked): \(problem)", at: at)
                    }
                }
            }
        }
    }

    /// What is wrong with one resume, one line per kind of problem (empty: it was exact). Pure.
    ///
    /// Expected: since+1...joinedSeq in order, each once. With `truncated` (allowed only when
    /// since < joinedSeq - limit), a contiguous run ending at joinedSeq.
    func resumeProblems(since: UInt64, joinedSeq: UInt64, truncated: Bool, history: [UInt64], limit: UInt64) -> [String] {
        var problems: [String] = []
        if joinedSeq < since { problems.append("joined.seq \(joinedSeq) is below since \(since) (the room went back)") }
        let missedCount = joinedSeq > since ? joinedSeq - since : 0
        if truncated, missedCount <= limit {
            problems.append("truncated although only \(missedCount) were missed (history limit \(limit))")
        }
        let stale = history.filter { $0 <= since }
        if !stale.isEmpty { problems.append("history repeats seqs at or below since: \(ranges(stale))") }
        let above = history.filter { $0 > joinedSeq }
        if !above.isEmpty { problems.append("history holds seqs above joined.seq: \(ranges(above))") }
        var seen = Set<UInt64>()
        var repeated: [UInt64] = []
        var backwards = 0
        var previous: UInt64 = 0
        for seq in history where seq > since && seq <= joinedSeq {
            if !seen.insert(seq).inserted { repeated.append(seq) } else if seq < previous { backwards += 1 }
            previous = seq
        }
        if !repeated.isEmpty { problems.append("history holds seqs twice: \(ranges(repeated))") }
        if backwards > 0 { problems.append("history out of order \(backwards) times") }
        guard joinedSeq > since else { return problems }
        let first = truncated && missedCount > limit ? (seen.min() ?? joinedSeq + 1) : since + 1
        let missing = first <= joinedSeq ? (first...joinedSeq).filter { !seen.contains($0) } : []
        if !missing.isEmpty { problems.append("history misses \(missing.count): \(ranges(missing))") }
        return problems
    }
}
