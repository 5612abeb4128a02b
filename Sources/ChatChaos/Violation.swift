/// The kinds of invariant violation the checker reports (DESIGN.md, "Invariants"). Each must be 0.
enum ViolationKind: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    /// Invariant 1: an acked message is missing from the room's history (within the history limit).
    case lostAcked = "lost_acked"
    /// Invariant 1: an acked message never reached a client that was joined to its room at the end
    /// (live, by resume or by gap fill).
    case missedDelivery = "missed_delivery"
    /// Invariants 2 and 3: a client received the same message twice (outside gap fill).
    case duplicate = "duplicate"
    /// Invariant 2: a client's live/resume stream of a room did not rise strictly (counted once per
    /// regression).
    case orderViolation = "order_violation"
    /// Invariant 2: a client's seqs of a room have a hole below its highest seq that gap fill did
    /// not close (counted per missing seq).
    case unfilledGap = "unfilled_gap"
    /// Invariant 5: one (room, seq) was given to two different messages — two owners sequenced
    /// the room (counted per seq).
    case seqConflict = "seq_conflict"
    /// Invariant 3: one message (room, user, id) appears under two seqs (acks, deliveries or history).
    case idUnderTwoSeqs = "id_under_two_seqs"
    /// Invariant 4: after a fault, some room did not accept a send within the failover bound.
    case slowFailover = "slow_failover"
    /// Invariant 4: after a kill or term, the node's users were still in some room's presence after
    /// the presence bound.
    case presenceNotCleaned = "presence_not_cleaned"
    /// A faulted node did not answer /readyz again after its restart or SIGCONT.
    case nodeNotRecovered = "node_not_recovered"
    /// A client could not get connected and joined again by the end (it is then not checked for
    /// deliveries).
    case clientNotRejoined = "client_not_rejoined"
    /// A room's history could not be read at the end, so invariant 1 could not be checked there.
    case historyUnreadable = "history_unreadable"

    static func < (lhs: ViolationKind, rhs: ViolationKind) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Violation counts by kind, with a few examples of each for the report.
struct ViolationTally: Sendable, Hashable, Codable {
    static let examplesPerKind = 5

    private(set) var counts: [ViolationKind: Int] = [:]
    private(set) var examples: [ViolationKind: [String]] = [:]

    mutating func record(_ kind: ViolationKind, _ example: @autoclosure () -> String, count: Int = 1) {
        guard count > 0 else { return }
        counts[kind, default: 0] += count
        if examples[kind, default: []].count < Self.examplesPerKind {
            examples[kind, default: []].append(example())
        }
    }

    subscript(kind: ViolationKind) -> Int { counts[kind] ?? 0 }

    var total: Int { counts.values.reduce(0, +) }
}
