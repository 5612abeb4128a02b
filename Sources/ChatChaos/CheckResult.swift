/// The outcome of `InvariantChecker.check`: violations, counters and per-fault timings.
struct CheckResult: Sendable, Hashable, Codable {
    struct Counters: Sendable, Hashable, Codable {
        /// Distinct messages (ids) the clients sent.
        var sent = 0
        /// Send frames written, retries included.
        var attempts = 0
        /// Distinct messages acked at least once.
        var acked = 0
        /// Messages received by clients, all kinds (live, resume, fill), summed over clients.
        var delivered = 0
        /// Of those, live `message` frames.
        var deliveredLive = 0
        /// Messages the history route returned at the end, all rooms.
        var inHistory = 0
        var reconnects = 0
        var errorsByCode: [String: Int] = [:]
    }

    var tally: ViolationTally
    var counters: Counters
    var faults: [FaultTiming]

    var passed: Bool { tally.total == 0 }
}

/// How one fault went, as measured from the observations.
struct FaultTiming: Sendable, Hashable, Codable {
    var index: Int
    var kind: FaultKind
    var node: Int
    /// Seconds from the signal until every room had acked a send attempted after the signal
    /// (the slowest room); nil if some room never did.
    var acceptAfter: Double?
    /// Seconds from the signal until the node's users left presence everywhere (nil: never, or not
    /// measured).
    var presenceAfter: Double?
    /// Seconds from the signal until the node answered /readyz again.
    var recoveredAfter: Double?
}

extension InvariantChecker {
    /// Per fault: time until every room accepted a send again, presence and recovery times.
    func faultTimings(_ observations: ChaosObservations) -> [FaultTiming] {
        var acksByRoom: [String: [AckObservation]] = [:]
        for client in observations.clients {
            for send in client.sends {
                acksByRoom[send.room, default: []].append(contentsOf: send.acks)
            }
        }
        let rooms = Set(observations.clients.flatMap { $0.sends.map(\.room) })
        return observations.faults.map { outcome in
            let start = outcome.startedAt
            var slowest: Double? = 0
            for room in rooms {
                let first = acksByRoom[room, default: []].filter { $0.attemptAt >= start }.map(\.at).min()
                guard let first else {
                    slowest = nil
                    break
                }
                slowest = slowest.map { max($0, first - start) }
            }
            return FaultTiming(
                index: outcome.fault.index, kind: outcome.fault.kind, node: outcome.fault.node,
                acceptAfter: rooms.isEmpty ? nil : slowest,
                presenceAfter: outcome.presenceCleanedAfter,
                recoveredAfter: outcome.recoveredAt.map { $0 - start })
        }
    }
}

/// Median and worst of some durations.
struct DurationSummary: Sendable, Hashable, Codable {
    var count: Int
    var median: Double?
    var worst: Double?
    /// Faults for which the duration was never reached (nil).
    var missing: Int

    init(_ values: [Double?]) {
        let present = values.compactMap { $0 }.sorted()
        count = present.count
        missing = values.count - present.count
        worst = present.last
        if present.isEmpty {
            median = nil
        } else if present.count % 2 == 1 {
            median = present[present.count / 2]
        } else {
            median = (present[present.count / 2 - 1] + present[present.count / 2]) / 2
        }
    }
}
