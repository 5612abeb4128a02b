import Ring

/// `HashRing` lookups on 50 members with the default virtual nodes, exactly as `ring-bench` makes
/// them: 1,000,000 distinct pre-made keys "room-N", each timed run looking up all of them.
final class RingLookups {
    static let keyCount = 1_000_000

    let ring = HashRing(members: (0..<50).map { "node-\($0)" })
    let keys: [String] = (0..<keyCount).map { "room-\($0 &* 7_919 % 10_000_000)" }

    /// `owner(of:)`: hashes the key (xxHash64) and finds its owner. One op = one lookup.
    @inline(never)
    func owners(_ count: Int) -> Int {
        var sum = 0
        for key in keys.prefix(count) { sum &+= ring.owner(of: key)!.utf8.count }
        return sum
    }

    /// `preferenceList(of:count: 2)`: the owner and its successor (the room's replica), as an
    /// array. One op = one call; its result array is one allocation.
    @inline(never)
    func preferenceLists(_ count: Int) -> Int {
        var sum = 0
        for key in keys.prefix(count) { sum &+= ring.preferenceList(of: key, count: 2).count }
        return sum
    }

    /// The allocation probe's empty control: a loop over the same keys that calls nothing.
    @inline(never)
    func emptyLoop(_ count: Int) -> Int {
        var sum = 0
        for key in keys.prefix(count) { sum &+= key.utf8.count }
        return sum
    }
}
