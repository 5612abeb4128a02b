/// The kinds of invariant violation the checker reports (DESIGN.md, "Invariants"; PROTOCOL.md,
/// "Guarantees"). Each must be 0. The raw values are the names in the report (JSON and table).
enum ViolationKind: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    /// Guarantee 2: a connection that stayed open did not receive every message of its room as a
    /// live frame, in seq order. Counted once per gap (a run of seqs missing from the live stream
    /// of one connection), even when the client filled it with `history` afterwards.
    case gapOnLiveConnection = "gaps_on_live_connections"
    /// Guarantee 4: a `join` with `since` did not answer exactly since+1...joined.seq, once each,
    /// in order (a hole, a duplicate, a seq below `since`, `joined.seq` below `since`), or said
    /// `truncated` although fewer than the history limit were missed. One per problem per join.
    case resumeGap = "resume_gaps"
    /// Invariant 1: an acked message is missing from the room's history (within the history limit).
    case lostAcked = "lost_acked"
    /// Invariant 1: an acked message never reached (by any means) a client that was joined to its
    /// room at the end. Counted per message and client.
    case missedDelivery = "missed_deliveries"
    /// Invariants 2 and 3: a client received the same message again as a live frame.
    case duplicate = "duplicates"
    /// Invariant 2: a live frame whose seq is not above the last seq the client had (counted once
    /// per regression).
    case orderViolation = "order_violations"
    /// Invariant 2: a client's seqs of a room have a hole below its highest seq that even gap fill
    /// did not close (counted per missing seq).
    case unfilledGap = "unfilled_gaps"
    /// Invariant 5: one (room, seq) was given to two different messages — two owners sequenced the
    /// room (counted per seq).
    case seqConflict = "seq_conflicts"
    /// Invariants 3 and 5: one message (room, user, id) appears under two seqs in deliveries or
    /// history (its acks agree or it has none).
    case messageTwoSeqs = "message_two_seqs"
    /// Invariant 3: one id was acked twice with different seqs.
    case idTwoSeqs = "id_two_seqs"
    /// Invariant 4: a send was not acked within the failover bound of its first attempt (time the
    /// client spent on a deliberately faulted node excluded), or never.
    case unansweredSend = "unanswered_sends"
    /// Invariant 4: after a fault, some room did not accept a send within the failover bound.
    case slowFailover = "slow_failover"
    /// Invariant 4: after a kill or term, the node's users were still in some room's presence after
    /// the presence bound.
    case presenceNotCleaned = "presence_not_cleaned"
    /// A faulted node did not answer /readyz again after its restart, SIGCONT or heal.
    case nodeNotRecovered = "nodes_not_recovered"
    /// A client could not get connected and joined again by the end (it is then not checked for
    /// deliveries).
    case clientNotRejoined = "clients_not_rejoined"
    /// A room's history could not be read at the end, so invariant 1 could not be checked there.
    case historyUnreadable = "history_unreadable"

    static func < (lhs: ViolationKind, rhs: ViolationKind) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// The most recent fault that started before a violation happened.
struct FaultReference: Sendable, Hashable, Codable {
    var index: Int
    var kind: FaultKind
    var node: String
    var startedAt: Double

    var description: String { "fault #\(index) \(kind.rawValue) \(node) at \(format(startedAt)) s" }
}

/// One violation: what, where (room, seq, user/id, node in `detail`) and when.
struct Violation: Sendable, Hashable, Codable {
    var kind: ViolationKind
    var detail: String
    /// Seconds since the run started when it happened (when it should have been seen otherwise).
    var at: Double
    /// How many units it stands for (missed messages, missing seqs); 1 for most kinds.
    var count = 1
    /// Set by `ViolationTally.attribute(to:)`.
    var after: FaultReference?

    var line: String {
        "\(kind.rawValue): \(detail) [at \(format(at)) s; " + (after.map { "after \($0.description)" } ?? "before any fault") + "]"
    }
}

/// Every violation of a run, with counts by kind and by the kind of the fault before it.
struct ViolationTally: Sendable, Hashable, Codable {
    /// Key of `byFaultKind` for violations that happened before the first fault.
    static let noFault = "none"

    private(set) var violations: [Violation] = []

    mutating func record(_ kind: ViolationKind, _ detail: String, at: Double, count: Int = 1) {
        guard count > 0 else { return }
        violations.append(Violation(kind: kind, detail: detail, at: at, count: count))
    }

    subscript(kind: ViolationKind) -> Int {
        violations.reduce(0) { $0 + ($1.kind == kind ? $1.count : 0) }
    }

    var total: Int { violations.reduce(0) { $0 + $1.count } }

    /// Counts by kind (every kind, zeros included).
    var counts: [ViolationKind: Int] {
        Dictionary(uniqueKeysWithValues: ViolationKind.allCases.map { ($0, self[$0]) })
    }

    /// Sets each violation's `after` to the most recent fault that started at or before it.
    mutating func attribute(to faults: [FaultOutcome], names: (Int) -> String) {
        let ordered = faults.sorted { $0.startedAt < $1.startedAt }
        for index in violations.indices {
            let at = violations[index].at
            if let fault = ordered.last(where: { $0.startedAt <= at }) {
                violations[index].after = FaultReference(
                    index: fault.fault.index, kind: fault.fault.kind, node: names(fault.fault.node), startedAt: fault.startedAt)
            }
        }
    }

    /// Violation counts by the kind of the fault before them (`none`: before the first fault).
    var byFaultKind: [String: [String: Int]] {
        var table: [String: [String: Int]] = [:]
        for violation in violations {
            table[violation.after?.kind.rawValue ?? Self.noFault, default: [:]][violation.kind.rawValue, default: 0] += violation.count
        }
        return table
    }

    /// The violations in time order, then by kind.
    var sorted: [Violation] {
        violations.sorted { ($0.at, $0.kind) < ($1.at, $1.kind) }
    }
}
