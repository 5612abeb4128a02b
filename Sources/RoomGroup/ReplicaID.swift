/// One incarnation of a node in a room's group: the node's name and the boot id of its process.
///
/// A restarted process has amnesia (its state lived in memory), so it comes back with a new boot
/// id and is a different replica: a configuration that lists `(n, 1)` does not let `(n, 2)` vote,
/// and `(n, 1)`'s promises died with it. That is what makes amnesia safe without stable storage.
public struct ReplicaID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var node: String
    public var boot: UInt64

    public init(node: String, boot: UInt64) {
        self.node = node
        self.boot = boot
    }

    public static func < (lhs: ReplicaID, rhs: ReplicaID) -> Bool {
        (lhs.node, lhs.boot) < (rhs.node, rhs.boot)
    }

    public var description: String { "\(node)#\(boot)" }
}
