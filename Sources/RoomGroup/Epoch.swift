/// The period in which one leader orders a room (Raft's term, VR's view number).
///
/// An epoch names its leader: `(term, node, boot)`, compared in that order. Two candidates can
/// therefore never compete for the same epoch, and "at most one leader per epoch" reduces to "a
/// replica promises each epoch at most once", which holds because promises only ever rise.
public struct Epoch: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var term: UInt64
    public var leader: ReplicaID

    /// The epoch of the genesis entry: below every real epoch.
    public static let zero = Epoch(term: 0, leader: ReplicaID(node: "", boot: 0))

    public init(term: UInt64, leader: ReplicaID) {
        self.term = term
        self.leader = leader
    }

    public static func < (lhs: Epoch, rhs: Epoch) -> Bool {
        (lhs.term, lhs.leader) < (rhs.term, rhs.leader)
    }

    public var description: String { "\(term).\(leader)" }
}
