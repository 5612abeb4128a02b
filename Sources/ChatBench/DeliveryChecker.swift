/// Checks what the receivers got against what the senders sent: lost, duplicated, out-of-order
/// and inconsistent messages. A pure value; one instance per event loop (it only sees the
/// connections of that loop), merged at the end with `merge(_:)`.
///
/// The rules:
/// - Every receiver of a room must see the room's seqs strictly increasing. A seq it has already
///   seen is a *duplicate*; a seq below the highest it has seen (and not seen before) is
///   *out of order*; a seq at or below the room's seq when it joined is *out of order* too.
/// - Every delivery of a message id must carry the same seq, the one its `ack` gave; any other
///   seq is *inconsistent* (two seqs for one message, or a message under someone else's seq).
/// - `lost` counts, for every acked message, the members joined to its room before sending
///   started that did not receive it (after the drain). Deliveries beyond that number are
///   duplicates too (the same id sequenced twice).
/// - Messages whose id the benchmark did not write are *unexpected*; sent messages never acked
///   are *unacked*. A correct run has all of these at 0.
struct DeliveryChecker: Sendable {
    /// The bookkeeping of one message: deliveries (each receiver counted once), the seq of its
    /// first delivery and the seq its ack gave (0 = none yet).
    struct MessageSlot: Sendable, Hashable {
        var deliveries: UInt32 = 0
        var firstSeq: UInt64 = 0
        var ackedSeq: UInt64 = 0
    }

    struct Receiver: Sendable, Hashable {
        var room: Int
        var lastSeq: UInt64
        var seen: SeqSet
    }

    /// What the run got, summed over every receiver.
    struct Counts: Sendable, Hashable {
        var delivered = 0
        var duplicates = 0
        var outOfOrder = 0
        var inconsistent = 0
        var unexpected = 0
    }

    /// The final account after the drain.
    struct Verdict: Sendable, Hashable, Codable {
        var sent = 0
        var acked = 0
        var unacked = 0
        var expectedDeliveries = 0
        var delivered = 0
        var lost = 0
        var duplicates = 0
        var outOfOrder = 0
        var inconsistent = 0
        var unexpected = 0

        var isClean: Bool {
            unacked == 0 && lost == 0 && duplicates == 0 && outOfOrder == 0 && inconsistent == 0 && unexpected == 0
        }
    }

    /// Counters a message counter may not exceed (a guard against ids that would allocate wildly).
    static let maximumCounter = 50_000_000

    let shape: RunShape
    private(set) var receivers: [Int: Receiver] = [:]
    private(set) var membersPerRoom: [Int]
    private var messages: [[MessageSlot]]
    /// Messages sent per sender (the highest counter sent + 1).
    private var sent: [Int]
    private(set) var counts = Counts()

    init(shape: RunShape) {
        self.shape = shape
        membersPerRoom = Array(repeating: 0, count: shape.rooms)
        messages = Array(repeating: [], count: shape.senderCount)
        sent = Array(repeating: 0, count: shape.senderCount)
    }

    /// A connection joined `room` whose seq was `seq` at that moment.
    mutating func joined(connection: Int, room: Int, seq: UInt64) {
        precondition(receivers[connection] == nil, "connection \(connection) joined twice")
        receivers[connection] = Receiver(room: room, lastSeq: seq, seen: SeqSet(base: seq))
        membersPerRoom[room] += 1
    }

    mutating func sent(sender: Int, counter: Int) {
        sent[sender] = max(sent[sender], counter + 1)
    }

    mutating func acked(sender: Int, counter: Int, seq: UInt64) {
        guard slotExists(sender: sender, counter: counter) else {
            counts.unexpected += 1
            return
        }
        messages[sender][counter].ackedSeq = seq
    }

    /// Records one `message` frame a connection received. Returns true when it is a first
    /// delivery of a known message to this receiver (the caller then records its latency).
    mutating func delivered(connection: Int, seq: UInt64, sender: Int, counter: Int) -> Bool {
        guard slotExists(sender: sender, counter: counter), receivers[connection] != nil else {
            counts.unexpected += 1
            return false
        }
        switch receivers[connection]!.seen.insert(seq) {
        case .alreadyPresent:
            counts.duplicates += 1
            return false
        case .outOfRange:
            counts.outOfOrder += 1
            return false
        case .inserted:
            break
        }
        if seq < receivers[connection]!.lastSeq {
            counts.outOfOrder += 1
        } else {
            receivers[connection]!.lastSeq = seq
        }
        counts.delivered += 1
        if messages[sender][counter].firstSeq == 0 {
            messages[sender][counter].firstSeq = seq
        } else if messages[sender][counter].firstSeq != seq {
            counts.inconsistent += 1
        }
        messages[sender][counter].deliveries += 1
        return true
    }

    /// A message whose id is not one of ours (or cannot be read).
    mutating func unexpectedMessage() {
        counts.unexpected += 1
    }

    /// Adds another loop's checker (same shape, disjoint connections) into this one.
    mutating func merge(_ other: DeliveryChecker) {
        precondition(other.shape == shape, "merging checkers of different shapes")
        receivers.merge(other.receivers) { _, _ in preconditionFailure("a connection on two loops") }
        for room in membersPerRoom.indices { membersPerRoom[room] += other.membersPerRoom[room] }
        for sender in sent.indices { sent[sender] = max(sent[sender], other.sent[sender]) }
        counts.delivered += other.counts.delivered
        counts.duplicates += other.counts.duplicates
        counts.outOfOrder += other.counts.outOfOrder
        counts.inconsistent += other.counts.inconsistent
        counts.unexpected += other.counts.unexpected
        for sender in messages.indices {
            let theirs = other.messages[sender]
            if messages[sender].count < theirs.count {
                messages[sender].append(
                    contentsOf: repeatElement(MessageSlot(), count: theirs.count - messages[sender].count))
            }
            for counter in theirs.indices {
                let slot = theirs[counter]
                messages[sender][counter].deliveries += slot.deliveries
                if slot.ackedSeq != 0 { messages[sender][counter].ackedSeq = slot.ackedSeq }
                if slot.firstSeq != 0 {
                    let mine = messages[sender][counter].firstSeq
                    if mine == 0 {
                        messages[sender][counter].firstSeq = slot.firstSeq
                    } else if mine != slot.firstSeq {
                        counts.inconsistent += 1
                    }
                }
            }
        }
    }

    /// The final account: call on the merged checker after the drain.
    func verdict() -> Verdict {
        var verdict = Verdict()
        verdict.delivered = counts.delivered
        verdict.duplicates = counts.duplicates
        verdict.outOfOrder = counts.outOfOrder
        verdict.inconsistent = counts.inconsistent
        verdict.unexpected = counts.unexpected
        for sender in sent.indices {
            let expected = membersPerRoom[shape.room(ofSender: sender)]
            verdict.sent += sent[sender]
            for counter in 0..<sent[sender] {
                let slot = counter < messages[sender].count ? messages[sender][counter] : MessageSlot()
                guard slot.ackedSeq != 0 else {
                    verdict.unacked += 1
                    continue
                }
                verdict.acked += 1
                verdict.expectedDeliveries += expected
                let got = Int(slot.deliveries)
                verdict.lost += max(0, expected - got)
                verdict.duplicates += max(0, got - expected)
                if slot.firstSeq != 0 && slot.firstSeq != slot.ackedSeq { verdict.inconsistent += 1 }
            }
        }
        return verdict
    }

    /// Makes room for the message's slot; false for a sender or counter that cannot be ours.
    private mutating func slotExists(sender: Int, counter: Int) -> Bool {
        guard sender >= 0, sender < messages.count, counter >= 0, counter < Self.maximumCounter else { return false }
        if counter >= messages[sender].count {
            let grow = max(counter + 1 - messages[sender].count, messages[sender].count)
            messages[sender].append(contentsOf: repeatElement(MessageSlot(), count: min(grow, Self.maximumCounter)))
        }
        return true
    }
}
