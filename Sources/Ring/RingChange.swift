/// A key whose owner differs between two rings (see ``HashRing/ownerChanges(of:to:)``).
public struct RingChange: Sendable, Hashable {
    /// The key (room name).
    public let key: String
    /// Its owner in the older ring; `nil` if that ring was empty.
    public let from: String?
    /// Its owner in the newer ring; `nil` if that ring is empty.
    public let to: String?

    /// A change of `key`'s owner from `from` to `to`.
    public init(key: String, from: String?, to: String?) {
        self.key = key
        self.from = from
        self.to = to
    }
}

/// An arc of the circle whose owner differs between two rings (see ``HashRing/diff(to:)``).
///
/// The arc is the half-open interval `(start, end]` walked clockwise (increasing, `UInt64.max`
/// followed by `0`): it holds the positions `p` with `start < p <= end`, matching the ownership
/// rule (a virtual node at `end` owns everything after the previous virtual node up to and
/// including `end`). Wrap-around:
/// - `start < end`: an ordinary arc, `start < p && p <= end`.
/// - `start > end`: the arc crosses `UInt64.max`: `p > start || p <= end`.
/// - `start == end`: the whole circle (an empty arc is never produced).
///
/// ``contains(_:)`` applies these rules.
public struct RingArc: Sendable, Hashable {
    /// Exclusive start of the arc.
    public let start: UInt64
    /// Inclusive end of the arc.
    public let end: UInt64
    /// Owner of the arc in the older ring; `nil` if that ring was empty.
    public let from: String?
    /// Owner of the arc in the newer ring; `nil` if that ring is empty.
    public let to: String?

    /// The arc `(start, end]` (see the type's documentation for wrap-around), moving from `from`
    /// to `to`.
    public init(start: UInt64, end: UInt64, from: String?, to: String?) {
        self.start = start
        self.end = end
        self.from = from
        self.to = to
    }

    /// Whether position `hash` (as from ``HashRing/hash(_:)``) lies on this arc.
    public func contains(_ hash: UInt64) -> Bool {
        if start < end { return start < hash && hash <= end }
        if start > end { return hash > start || hash <= end }
        return true
    }
}
