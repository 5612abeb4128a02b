/// Checks the invariants of DESIGN.md against what the clients saw and what history holds at the
/// end of a run. Pure: the same observations always give the same result.
///
/// Rules a reader could not guess:
/// - Every checked client joined its rooms before traffic started, so it must see every acked
///   message of its rooms (seq 1 upward), through live frames, `joined.history` on resume, or
///   `history` gap fill. Watchers (presence probes) are not fed to the checker.
/// - Order is checked on live and resume deliveries only; gap-fill answers fill holes and may
///   repeat what was already seen (an overlap with the same id is fine, a different id is a
///   `seq_conflict`).
/// - After an order regression the stream follows the new seqs, so a room restarting its seqs
///   counts one `order_violation`, plus a `seq_conflict` per reused seq.
/// - Messages more than `historyLimit` seqs below a room's highest history seq may be missing from
///   history (the cap) and are not counted as lost.
struct InvariantChecker: Sendable {
    var failoverBound: Double
    var presenceBound: Double

    init(failoverBound: Double = 10, presenceBound: Double = 15) {
        self.failoverBound = failoverBound
        self.presenceBound = presenceBound
    }

    struct MessageKey: Sendable, Hashable, Comparable {
        var room: String
        var user: String
        var id: String

        static func < (lhs: MessageKey, rhs: MessageKey) -> Bool {
            (lhs.room, lhs.user, lhs.id) < (rhs.room, rhs.user, rhs.id)
        }

        var description: String { "\(room)/\(user)/\(id)" }
    }

    struct SeqKey: Sendable, Hashable, Comparable {
        var room: String
        var seq: UInt64

        static func < (lhs: SeqKey, rhs: SeqKey) -> Bool { (lhs.room, lhs.seq) < (rhs.room, rhs.seq) }
    }

    func check(_ observations: ChaosObservations) -> CheckResult {
        var tally = ViolationTally()
        let acked = ackedMessages(observations)
        checkStreams(observations, into: &tally)
        checkSeqMappings(observations, into: &tally)
        checkHistory(observations, acked: acked, into: &tally)
        checkDeliveries(observations, acked: acked, into: &tally)
        let timings = faultTimings(observations)
        for timing in timings {
            let label = "fault #\(timing.index) \(timing.kind.rawValue) n\(timing.node + 1)"
            if timing.recoveredAfter == nil { tally.record(.nodeNotRecovered, "\(label): node never ready again") }
            if let accept = timing.acceptAfter {
                if accept > failoverBound {
                    tally.record(.slowFailover, "\(label): rooms accepted sends after \(format(accept)) s > \(format(failoverBound)) s")
                }
            } else {
                tally.record(.slowFailover, "\(label): some room never accepted a send again")
            }
            if timing.kind != .pause, (timing.presenceAfter ?? .infinity) > presenceBound {
                tally.record(.presenceNotCleaned, "\(label): users still present after \(format(presenceBound)) s")
            }
        }
        return CheckResult(tally: tally, counters: counters(observations, acked: acked), faults: timings)
    }

    /// Every acked message with the seq of its first ack.
    func ackedMessages(_ observations: ChaosObservations) -> [MessageKey: UInt64] {
        var acked: [MessageKey: UInt64] = [:]
        for client in observations.clients {
            for send in client.sends {
                if let first = send.acks.first {
                    acked[MessageKey(room: send.room, user: send.user, id: send.id)] = first.seq
                }
            }
        }
        return acked
    }

    /// Duplicates, order regressions and unfilled gaps, per client and room.
    func checkStreams(_ observations: ChaosObservations, into tally: inout ViolationTally) {
        for client in observations.clients {
            for stream in client.streams {
                var seqToID: [UInt64: String] = [:]
                var seenIDs = Set<MessageKey>()
                var last: UInt64 = 0
                let where_ = "\(stream.user) in \(stream.room)"
                for delivery in stream.deliveries {
                    let key = MessageKey(room: stream.room, user: delivery.user, id: delivery.id)
                    if delivery.kind == .fill {
                        if seqToID[delivery.seq] == nil {
                            seqToID[delivery.seq] = key.description
                            seenIDs.insert(key)
                        }
                        continue
                    }
                    if seenIDs.contains(key) {
                        tally.record(.duplicate, "\(where_): \(key.description) delivered again as seq \(delivery.seq)")
                        continue
                    }
                    if delivery.seq <= last {
                        tally.record(.orderViolation, "\(where_): seq \(delivery.seq) after \(last)")
                    }
                    last = delivery.seq
                    seenIDs.insert(key)
                    if seqToID[delivery.seq] == nil { seqToID[delivery.seq] = key.description }
                }
                if let highest = seqToID.keys.max() {
                    let missing = (1...highest).filter { seqToID[$0] == nil }
                    tally.record(
                        .unfilledGap, "\(where_): \(missing.count) seqs missing below \(highest), first \(missing.first ?? 0)",
                        count: missing.count)
                }
            }
        }
    }

    /// Invariant 5 (one owner per seq) and 3 (one seq per message), over acks, deliveries and history.
    func checkSeqMappings(_ observations: ChaosObservations, into tally: inout ViolationTally) {
        var bySeq: [SeqKey: Set<MessageKey>] = [:]
        var byMessage: [MessageKey: Set<UInt64>] = [:]
        func note(_ room: String, _ seq: UInt64, _ user: String, _ id: String) {
            let message = MessageKey(room: room, user: user, id: id)
            bySeq[SeqKey(room: room, seq: seq), default: []].insert(message)
            byMessage[message, default: []].insert(seq)
        }
        for client in observations.clients {
            for send in client.sends {
                for ack in send.acks { note(send.room, ack.seq, send.user, send.id) }
            }
            for stream in client.streams {
                for delivery in stream.deliveries { note(stream.room, delivery.seq, delivery.user, delivery.id) }
            }
        }
        for (room, entries) in observations.history {
            for entry in entries { note(room, entry.seq, entry.user, entry.id) }
        }
        for (key, messages) in bySeq.sorted(by: { $0.key < $1.key }) where messages.count > 1 {
            let names = messages.map(\.description).sorted().joined(separator: ", ")
            tally.record(.seqConflict, "\(key.room) seq \(key.seq) given to \(names)")
        }
        for (key, seqs) in byMessage.sorted(by: { $0.key < $1.key }) where seqs.count > 1 {
            tally.record(.idUnderTwoSeqs, "\(key.description) under seqs \(seqs.sorted())")
        }
    }

    /// Invariant 1, history half: every acked message is in the history the route returned.
    func checkHistory(_ observations: ChaosObservations, acked: [MessageKey: UInt64], into tally: inout ViolationTally) {
        for room in observations.historyUnavailable.sorted() {
            tally.record(.historyUnreadable, "history of \(room) could not be read")
        }
        var inHistory = Set<MessageKey>()
        var highest: [String: UInt64] = [:]
        for (room, entries) in observations.history {
            for entry in entries {
                inHistory.insert(MessageKey(room: room, user: entry.user, id: entry.id))
                highest[room] = max(highest[room] ?? 0, entry.seq)
            }
        }
        let unreadable = Set(observations.historyUnavailable)
        for (key, seq) in acked.sorted(by: { $0.key < $1.key }) where !unreadable.contains(key.room) {
            guard !inHistory.contains(key) else { continue }
            let top = highest[key.room] ?? 0
            if top > UInt64(observations.historyLimit), seq <= top - UInt64(observations.historyLimit) { continue }
            tally.record(.lostAcked, "\(key.description) acked as seq \(seq), not in history")
        }
    }

    /// Invariant 1, delivery half: every client joined at the end saw every acked message of its rooms.
    func checkDeliveries(_ observations: ChaosObservations, acked: [MessageKey: UInt64], into tally: inout ViolationTally) {
        let ackedByRoom = Dictionary(grouping: acked.keys, by: \.room)
        for client in observations.clients {
            guard client.joinedAtEnd else {
                tally.record(.clientNotRejoined, "\(client.user) was not joined to all its rooms at the end")
                continue
            }
            for room in client.rooms {
                let stream = client.streams.first { $0.room == room }
                let seen = Set((stream?.deliveries ?? []).map { MessageKey(room: room, user: $0.user, id: $0.id) })
                let missed = (ackedByRoom[room] ?? []).filter { !seen.contains($0) }.sorted()
                tally.record(
                    .missedDelivery,
                    "\(client.user) in \(room): \(missed.count) acked messages never delivered, e.g. \(missed.first?.description ?? "")",
                    count: missed.count)
            }
        }
    }

    func counters(_ observations: ChaosObservations, acked: [MessageKey: UInt64]) -> CheckResult.Counters {
        var counters = CheckResult.Counters()
        for client in observations.clients {
            counters.sent += client.sends.count
            counters.attempts += client.sends.reduce(0) { $0 + $1.attempts }
            counters.delivered += client.streams.reduce(0) { $0 + $1.deliveries.count }
            counters.reconnects += client.reconnects
            for (code, count) in client.errorsByCode { counters.errorsByCode[code, default: 0] += count }
        }
        counters.acked = acked.count
        counters.inHistory = observations.history.values.reduce(0) { $0 + $1.count }
        return counters
    }
}

func format(_ seconds: Double) -> String {
    String(Double((seconds * 100).rounded()) / 100)
}
