/// Checks the invariants of DESIGN.md and the guarantees of PROTOCOL.md against what the clients
/// saw and what history holds at the end of a run. Pure: the same observations always give the
/// same result. It never repairs what it checks: a client may fill a gap with `history` (so the
/// other checks keep working), but the gap itself is still a violation.
///
/// Rules a reader could not guess:
/// - Live delivery (guarantee 2, `InvariantChecker+LiveGaps`): on every connection, after `joined`
///   answered seq J, the live `message` frames of the room must be J+1, J+2, ... with no hole. A
///   message "should have arrived live" on a connection when its seq is above J (and above the
///   `since` the client sent) and it was acked at least `liveGrace` seconds before the connection's
///   live window ended (when it closed, or when the node was last heard if the client dropped it
///   for silence; the observation time if it stayed open). Every seq below the highest live frame
///   of the connection should have arrived live too, acked or not. Messages whose window
///   overlaps the end of the connection are checked by the resume rule on the next connection
///   instead.
/// - Resume (guarantee 4, `InvariantChecker+Resume`): `joined.history` must be exactly
///   since+1...joined.seq, once each, in order; `truncated` only when more than `historyLimit`
///   were missed (since < joined.seq - historyLimit), and then it must still be contiguous up to
///   joined.seq.
/// - Order and duplicates are judged on live frames only (resume entries are the resume rule's);
///   gap-fill answers may repeat what was already seen (an overlap with the same id is fine, a
///   different id is a seq conflict).
/// - Messages more than `historyLimit` seqs below a room's highest history seq may be missing from
///   history (the cap) and are not counted as lost.
/// - Each violation carries the time it happened; the fault that started last before that time
///   is named with it and gives the per-fault-kind breakdown.
struct InvariantChecker: Sendable {
    var failoverBound: Double
    var presenceBound: Double
    /// Seconds after its ack within which a message need not yet have arrived live before the
    /// connection ended (it is then the resume rule's).
    var liveGrace: Double

    init(failoverBound: Double = 10, presenceBound: Double = 15, liveGrace: Double = 3) {
        self.failoverBound = failoverBound
        self.presenceBound = presenceBound
        self.liveGrace = liveGrace
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

    /// One acked message: the seq of its first ack, its earliest ack and the node that acked it.
    struct AckedMessage: Sendable, Hashable {
        var key: MessageKey
        var seq: UInt64
        var ackedAt: Double
        var via: String
    }

    func check(_ observations: ChaosObservations) -> CheckResult {
        var tally = ViolationTally()
        let acked = ackedMessages(observations)
        var bySeq: [String: [UInt64: AckedMessage]] = [:]
        for message in acked.values where (bySeq[message.key.room]?[message.seq]?.ackedAt ?? .infinity) > message.ackedAt {
            bySeq[message.key.room, default: [:]][message.seq] = message
        }
        checkStreams(observations, into: &tally)
        checkLiveGaps(observations, ackedBySeq: bySeq, into: &tally)
        checkResumes(observations, into: &tally)
        checkSeqMappings(observations, into: &tally)
        checkHistory(observations, acked: acked, into: &tally)
        checkDeliveries(observations, acked: acked, into: &tally)
        checkUnansweredSends(observations, into: &tally)
        let timings = faultTimings(observations)
        for timing in timings {
            let label = "fault #\(timing.index) \(timing.kind.rawValue) \(observations.nodeName(timing.node))"
            let at = observations.faults.first { $0.fault.index == timing.index }?.startedAt ?? 0
            if timing.recoveredAfter == nil { tally.record(.nodeNotRecovered, "\(label): node never ready again", at: at) }
            if let accept = timing.acceptAfter {
                if accept > failoverBound {
                    tally.record(
                        .slowFailover, "\(label): rooms accepted sends after \(format(accept)) s > \(format(failoverBound)) s", at: at)
                }
            } else {
                tally.record(.slowFailover, "\(label): some room never accepted a send again", at: at)
            }
            if timing.kind.presenceMustClear, (timing.presenceAfter ?? .infinity) > presenceBound {
                tally.record(.presenceNotCleaned, "\(label): users still present after \(format(presenceBound)) s", at: at)
            }
        }
        tally.attribute(to: observations.faults, names: observations.nodeName)
        return CheckResult(tally: tally, counters: counters(observations, acked: acked), faults: timings)
    }

    /// Every acked message, by key.
    func ackedMessages(_ observations: ChaosObservations) -> [MessageKey: AckedMessage] {
        var acked: [MessageKey: AckedMessage] = [:]
        for client in observations.clients {
            for send in client.sends {
                guard let first = send.acks.first else { continue }
                let key = MessageKey(room: send.room, user: send.user, id: send.id)
                let via = client.span(at: first.at)?.describe(names: observations.nodeName) ?? "?"
                acked[key] = AckedMessage(key: key, seq: first.seq, ackedAt: send.acks.map(\.at).min() ?? first.at, via: via)
            }
        }
        return acked
    }

    /// Duplicates and order regressions of live frames, and holes that not even gap fill closed.
    func checkStreams(_ observations: ChaosObservations, into tally: inout ViolationTally) {
        for client in observations.clients {
            for stream in client.streams {
                var seqToID: [UInt64: String] = [:]
                var seenIDs = Set<MessageKey>()
                var last: UInt64 = 0
                let who = "\(stream.user) in \(stream.room)"
                for delivery in stream.deliveries {
                    let key = MessageKey(room: stream.room, user: delivery.user, id: delivery.id)
                    let node = client.span(delivery.generation)?.describe(names: observations.nodeName) ?? "?"
                    if delivery.kind == .live {
                        if seenIDs.contains(key) {
                            tally.record(
                                .duplicate, "\(who): \(key.description) delivered again live as seq \(delivery.seq) by \(node)",
                                at: delivery.at)
                            continue
                        }
                        if delivery.seq <= last {
                            tally.record(.orderViolation, "\(who): live seq \(delivery.seq) after \(last) from \(node)", at: delivery.at)
                        }
                    }
                    seenIDs.insert(key)
                    if seqToID[delivery.seq] == nil { seqToID[delivery.seq] = key.description }
                    if delivery.kind != .fill { last = delivery.kind == .live ? delivery.seq : max(last, delivery.seq) }
                }
                if let highest = seqToID.keys.max() {
                    let missing = (1...highest).filter { seqToID[$0] == nil }
                    // When the hole became visible: the first delivery above its first missing seq.
                    let at = stream.deliveries.first { $0.seq > (missing.first ?? highest) }?.at ?? client.observedAt
                    tally.record(
                        .unfilledGap, "\(who): \(missing.count) seqs never received below \(highest): \(ranges(missing))", at: at,
                        count: missing.count)
                }
            }
        }
    }

    /// Invariant 5 (one message per seq) and 3 (one seq per message), over acks, deliveries and history.
    func checkSeqMappings(_ observations: ChaosObservations, into tally: inout ViolationTally) {
        var bySeq: [SeqKey: [MessageKey: Double]] = [:]
        var byMessage: [MessageKey: [UInt64: Double]] = [:]
        let end = observations.clients.map(\.observedAt).max() ?? 0
        func note(_ room: String, _ seq: UInt64, _ user: String, _ id: String, _ at: Double) {
            let message = MessageKey(room: room, user: user, id: id)
            bySeq[SeqKey(room: room, seq: seq), default: [:]][message] = min(bySeq[SeqKey(room: room, seq: seq)]?[message] ?? at, at)
            byMessage[message, default: [:]][seq] = min(byMessage[message]?[seq] ?? at, at)
        }
        for client in observations.clients {
            for send in client.sends {
                let seqs = Dictionary(send.acks.map { ($0.seq, $0) }, uniquingKeysWith: { first, _ in first })
                if seqs.count > 1 {
                    let list = send.acks.map { "seq \($0.seq) at \(format($0.at)) s via \(nodeAt(client, $0.at, observations))" }
                    tally.record(
                        .idTwoSeqs, "\(send.room)/\(send.user)/\(send.id) acked under different seqs: \(list.joined(separator: ", "))",
                        at: send.acks.first { $0.seq != send.acks[0].seq }!.at)
                }
                for ack in send.acks { note(send.room, ack.seq, send.user, send.id, ack.at) }
            }
            for stream in client.streams {
                for delivery in stream.deliveries { note(stream.room, delivery.seq, delivery.user, delivery.id, delivery.at) }
            }
        }
        for (room, entries) in observations.history {
            for entry in entries { note(room, entry.seq, entry.user, entry.id, end) }
        }
        for (key, messages) in bySeq.sorted(by: { $0.key < $1.key }) where messages.count > 1 {
            let names = messages.sorted { $0.value < $1.value }.map { "\($0.key.description) (first seen \(format($0.value)) s)" }
            tally.record(
                .seqConflict, "\(key.room) seq \(key.seq) given to \(names.joined(separator: ", "))",
                at: messages.values.sorted().dropFirst().first ?? end)
        }
        let ackConflicts = Set(
            observations.clients.flatMap { client in
                client.sends.filter { Set($0.acks.map(\.seq)).count > 1 }.map { MessageKey(room: $0.room, user: $0.user, id: $0.id) }
            })
        for (key, seqs) in byMessage.sorted(by: { $0.key < $1.key }) where seqs.count > 1 && !ackConflicts.contains(key) {
            let list = seqs.sorted { $0.key < $1.key }.map { "\($0.key) (first seen \(format($0.value)) s)" }
            tally.record(
                .messageTwoSeqs, "\(key.description) under seqs \(list.joined(separator: ", "))",
                at: seqs.values.sorted().dropFirst().first ?? end)
        }
    }

    /// Invariant 1, history half: every acked message is in the history the route returned.
    func checkHistory(_ observations: ChaosObservations, acked: [MessageKey: AckedMessage], into tally: inout ViolationTally) {
        let end = observations.clients.map(\.observedAt).max() ?? 0
        for room in observations.historyUnavailable.sorted() {
            tally.record(.historyUnreadable, "history of \(room) could not be read", at: end)
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
        for (key, message) in acked.sorted(by: { $0.key < $1.key }) where !unreadable.contains(key.room) {
            guard !inHistory.contains(key) else { continue }
            let top = highest[key.room] ?? 0
            if top > UInt64(observations.historyLimit), message.seq <= top - UInt64(observations.historyLimit) { continue }
            tally.record(
                .lostAcked, "\(key.description) acked as seq \(message.seq) via \(message.via), not in history", at: message.ackedAt)
        }
    }

    /// Invariant 1, delivery half: every client joined at the end saw every acked message of its rooms.
    func checkDeliveries(_ observations: ChaosObservations, acked: [MessageKey: AckedMessage], into tally: inout ViolationTally) {
        let ackedByRoom = Dictionary(grouping: acked.values, by: \.key.room)
        for client in observations.clients {
            guard client.joinedAtEnd else {
                let last = client.spans.last.map { "last \($0.describe(names: observations.nodeName))" } ?? "never connected"
                tally.record(
                    .clientNotRejoined, "\(client.user) was not joined to all its rooms at the end (\(last))", at: client.observedAt)
                continue
            }
            for room in client.rooms {
                let stream = client.streams.first { $0.room == room }
                let seen = Set((stream?.deliveries ?? []).map { MessageKey(room: room, user: $0.user, id: $0.id) })
                let missed = (ackedByRoom[room] ?? []).filter { !seen.contains($0.key) }.sorted { $0.seq < $1.seq }
                guard let first = missed.first else { continue }
                tally.record(
                    .missedDelivery,
                    "\(client.user) in \(room): \(missed.count) acked messages never received, seqs \(ranges(missed.map(\.seq))), "
                        + "first \(first.key.description) acked via \(first.via)",
                    at: first.ackedAt, count: missed.count)
            }
        }
    }

    func counters(_ observations: ChaosObservations, acked: [MessageKey: AckedMessage]) -> CheckResult.Counters {
        var counters = CheckResult.Counters()
        for client in observations.clients {
            counters.sent += client.sends.count
            counters.attempts += client.sends.reduce(0) { $0 + $1.attempts }
            counters.delivered += client.streams.reduce(0) { $0 + $1.deliveries.count }
            counters.deliveredLive += client.streams.reduce(0) { $0 + $1.deliveries.filter { $0.kind == .live }.count }
            counters.reconnects += client.reconnects
            for (code, count) in client.errorsByCode { counters.errorsByCode[code, default: 0] += count }
        }
        counters.acked = acked.count
        counters.inHistory = observations.history.values.reduce(0) { $0 + $1.count }
        return counters
    }

    func nodeAt(_ client: ClientObservations, _ time: Double, _ observations: ChaosObservations) -> String {
        client.span(at: time)?.describe(names: observations.nodeName) ?? "?"
    }
}

func format(_ seconds: Double) -> String {
    String(Double((seconds * 100).rounded()) / 100)
}

/// `3, 5–9, 12` for sorted seqs (at most 10 ranges, then `…`).
func ranges(_ seqs: [UInt64]) -> String {
    var parts: [String] = []
    var index = 0
    let sorted = seqs.sorted()
    while index < sorted.count {
        var end = index
        while end + 1 < sorted.count, sorted[end + 1] == sorted[end] + 1 { end += 1 }
        parts.append(end == index ? "\(sorted[index])" : "\(sorted[index])–\(sorted[end])")
        index = end + 1
    }
    return parts.count > 10 ? parts.prefix(10).joined(separator: ", ") + ", …" : parts.joined(separator: ", ")
}
