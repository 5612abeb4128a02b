extension InvariantChecker {
    /// Invariant 4 for each send: acked within `failoverBound` of its first attempt (its creation
    /// if it was never attempted; the end of the run if it was never acked). Time during which the
    /// client was connected (or connecting) to a node under a fault that takes that node out of
    /// the cluster (`FaultKind.takesNodeOut`: kill, term, pause, partition, asym, route, vanish) is
    /// not counted: nothing can be acked through that node then, and the client needs up to its
    /// liveness timeout to notice.
    func checkUnansweredSends(_ observations: ChaosObservations, into tally: inout ViolationTally) {
        let faults = observations.faults.filter { $0.fault.kind.takesNodeOut }
        for client in observations.clients {
            for send in client.sends {
                let start = send.firstAttemptAt ?? send.firstSentAt
                let ack = send.acks.map(\.at).min()
                let end = ack ?? client.observedAt
                var excluded = 0.0
                for fault in faults {
                    let faultEnd = fault.recoveredAt ?? client.observedAt
                    for span in client.spans where span.node == fault.fault.node {
                        excluded += overlap(
                            [(start, end), (fault.startedAt, faultEnd), (span.startedAt, span.closedAt ?? client.observedAt)])
                    }
                }
                let waited = end - start - excluded
                guard waited > failoverBound else { continue }
                let first = client.span(at: start)?.describe(names: observations.nodeName) ?? "no connection"
                let outcome = ack.map { "acked after \(format($0 - start)) s via \(nodeAt(client, $0, observations))" } ?? "never acked"
                tally.record(
                    .unansweredSend,
                    "\(send.room)/\(send.user)/\(send.id): first attempt at \(format(start)) s on \(first), \(outcome); "
                        + "\(format(waited)) s counted (\(format(excluded)) s on a faulted node excluded), \(send.attempts) attempts",
                    at: start + failoverBound)
            }
        }
    }

    /// Length of the intersection of closed intervals (0 when empty).
    func overlap(_ intervals: [(Double, Double)]) -> Double {
        let low = intervals.map(\.0).max() ?? 0
        let high = intervals.map(\.1).min() ?? 0
        return max(0, high - low)
    }
}
