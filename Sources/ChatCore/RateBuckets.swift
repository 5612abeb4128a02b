/// Token buckets keyed by user or client address, shared by every connection of the node, with
/// bounded memory and least-recently-used eviction.
///
/// Eviction is generational (an approximate LRU with O(1) work per call): buckets live in a
/// `recent` generation; when it holds `capacity / 2` keys it becomes the `older` generation and
/// the previous older one is dropped. A key used in either generation moves to `recent`, so a key
/// survives as long as it is used at least once per `capacity / 2` other keys. Nobody's bucket is
/// ever wiped because the table is full of strangers; a dropped bucket only comes back full, which
/// is what a key unused for that long would have refilled to in any case.
public struct RateBuckets: Sendable {
    public let rate: Double
    public let burst: Double
    /// Most keys held at once (both generations).
    public let capacity: Int
    private var recent: [String: TokenBucket] = [:]
    private var older: [String: TokenBucket] = [:]

    public init(rate: Double, burst: Double, capacity: Int) {
        self.rate = rate
        self.burst = burst
        self.capacity = max(2, capacity)
    }

    /// Keys currently held.
    public var count: Int { recent.count + older.count }

    /// Takes one token from `key`'s bucket if it has one.
    /// - Parameter now: monotonic time in nanoseconds.
    public mutating func take(_ key: String, now: UInt64) -> Bool {
        var bucket =
            recent.removeValue(forKey: key) ?? older.removeValue(forKey: key)
            ?? TokenBucket(rate: rate, burst: burst, now: now)
        let allowed = bucket.take(now: now)
        if recent.count >= capacity / 2 {
            older = recent
            recent = [:]
            recent.reserveCapacity(capacity / 2)
        }
        recent[key] = bucket
        return allowed
    }
}
