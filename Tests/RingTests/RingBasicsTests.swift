import Testing

@testable import Ring

@Suite("Ring basics")
struct RingBasicsTests {
    @Test("an empty ring has no owner and no preference list")
    func emptyRing() {
        let ring = HashRing(members: [String]())
        #expect(ring.isEmpty)
        #expect(ring.members.isEmpty)
        #expect(ring.virtualNodes == HashRing.defaultVirtualNodes)
        #expect(ring.owner(of: "room-1") == nil)
        #expect(ring.owner(ofHash: 0) == nil)
        #expect(ring.owner(ofHash: .max) == nil)
        #expect(ring.preferenceList(of: "room-1", count: 3) == [])
        #expect(ring.diff(to: ring) == [])
        #expect(ring.ownerChanges(of: ["a", "b"], to: ring) == [])
    }

    @Test("a single member owns everything")
    func singleMember() {
        let ring = HashRing(members: ["only"], virtualNodes: 3)
        #expect(!ring.isEmpty)
        var rng = SplitMix64(seed: 1)
        for _ in 0..<1_000 {
            let key = rng.name()
            #expect(ring.owner(of: key) == "only", "seed 1 key \(key)")
            #expect(ring.preferenceList(of: key, count: 3) == ["only"], "seed 1 key \(key)")
        }
        #expect(ring.owner(ofHash: 0) == "only")
        #expect(ring.owner(ofHash: .max) == "only")
    }

    @Test("members are sorted and distinct; order and duplicates do not matter", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func orderIndependence(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var names = (0..<20).map { _ in rng.name(prefix: "n-") }
        let reference = HashRing(members: names, virtualNodes: 50)
        #expect(reference.members == names.sorted().reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } })
        names += names.prefix(5)  // duplicates
        names.shuffle(using: &rng)
        let shuffled = HashRing(members: names, virtualNodes: 50)
        #expect(shuffled == reference, "seed \(seed)")
        #expect(shuffled.hashValue == reference.hashValue, "seed \(seed)")
        #expect(shuffled.members == reference.members, "seed \(seed)")
        #expect(shuffled.points == reference.points && shuffled.owners == reference.owners, "seed \(seed)")
        for _ in 0..<500 {
            let key = rng.name()
            #expect(shuffled.owner(of: key) == reference.owner(of: key), "seed \(seed) key \(key)")
        }
        #expect(HashRing(members: names, virtualNodes: 51) != reference, "virtualNodes is part of equality")
        #expect(Set([reference, shuffled]).count == 1)
    }

    @Test("members are told apart by UTF-8 bytes")
    func byteIdentity() {
        let ring = HashRing(members: ["\u{E9}", "e\u{301}", "\u{E9}"], virtualNodes: 8)
        #expect(ring.members.count == 2)
        #expect(ring != HashRing(members: ["e\u{301}"], virtualNodes: 8))
        #expect(HashRing(members: ["\u{E9}"], virtualNodes: 8) != HashRing(members: ["e\u{301}"], virtualNodes: 8))
    }

    @Test("a key is owned by the first virtual node at or after its position, wrapping")
    func ownershipRule() {
        let ring = HashRing(members: ["a", "b", "c"], virtualNodes: 16)
        let points = ring.points
        for (i, p) in points.enumerated() {
            let owner = ring.members[Int(ring.owners[i])]
            #expect(ring.owner(ofHash: p) == owner, "exactly at a virtual node")
            if i > 0 && points[i - 1] != p {
                #expect(ring.owner(ofHash: points[i - 1] + 1) == owner, "just after the previous one")
            }
        }
        let first = ring.members[Int(ring.owners[0])]
        #expect(ring.owner(ofHash: points.last! &+ 1) == first || points.last! == .max)
        #expect(ring.owner(ofHash: .max) == (points.last! == .max ? ring.members[Int(ring.owners.last!)] : first))
        #expect(ring.owner(ofHash: 0) == first)
        // Agrees with a linear scan.
        var rng = SplitMix64(seed: 9)
        for _ in 0..<2_000 {
            let h = rng.next()
            let i = points.firstIndex { $0 >= h } ?? 0
            #expect(ring.owner(ofHash: h) == ring.members[Int(ring.owners[i])], "seed 9 hash \(h)")
        }
    }

    @Test(
        "lookup (slot table + binary search) agrees with a linear scan",
        arguments: [(1, 1), (1, 3), (2, 8), (3, 16), (10, 100), (50, HashRing.defaultVirtualNodes)] as [(Int, Int)])
    func lookupAgreesWithLinearScan(memberCount: Int, virtualNodes: Int) {
        let ring = HashRing(members: Fixture.nodes(memberCount), virtualNodes: virtualNodes)
        let points = ring.points
        #expect(ring.slots.first == 0 && ring.slots.last == UInt32(points.count))
        var probes: [UInt64] = [0, 1, .max, .max - 1]
        for p in points { probes += [p, p &- 1, p &+ 1] }
        let slotCount = ring.slots.count - 1
        for s in 0..<slotCount {
            let start = UInt64(s) << ring.slotShift
            probes += [start, start &- 1, start &+ 1]
        }
        let seed = UInt64(memberCount * 1_000 + virtualNodes)
        var rng = SplitMix64(seed: seed)
        for _ in 0..<2_000 { probes.append(rng.next()) }
        for h in probes {
            // Reference: a textbook lower bound over the whole array, without the slot table.
            var low = 0
            var high = points.count
            while low < high {
                let mid = (low + high) / 2
                if points[mid] < h { low = mid + 1 } else { high = mid }
            }
            let expected = low == points.count ? 0 : low
            #expect(ring.index(atOrAfter: h) == expected, "seed \(seed): hash \(h)")
        }
    }

    @Test("virtualNodes below 1 is a programming error")
    func invalidVirtualNodes() async {
        await #expect(processExitsWith: .failure) {
            _ = HashRing(members: ["a"], virtualNodes: 0)
        }
    }
}

@Suite("Preference lists")
struct PreferenceListTests {
    @Test("distinct, owner first, min(count, members) long, clockwise and stable", arguments: [1, 2, 3, 10, 70])
    func properties(memberCount: Int) {
        let seed = UInt64(memberCount)
        var rng = SplitMix64(seed: seed)
        let ring = HashRing(members: Fixture.nodes(memberCount), virtualNodes: 20)
        #expect(ring.preferenceList(of: "x", count: 0) == [])
        #expect(ring.preferenceList(of: "x", count: -1) == [])
        for _ in 0..<100 {
            let key = rng.name()
            let full = ring.preferenceList(of: key, count: memberCount + 2)
            #expect(full.count == memberCount, "seed \(seed) key \(key)")
            #expect(Set(full).count == full.count, "distinct; seed \(seed) key \(key)")
            #expect(full.first == ring.owner(of: key), "seed \(seed) key \(key)")
            #expect(full == Self.reference(ring, key), "clockwise order; seed \(seed) key \(key)")
            for count in 0...memberCount {
                #expect(ring.preferenceList(of: key, count: count) == Array(full.prefix(count)), "seed \(seed) key \(key) count \(count)")
            }
            // The next member is who owns the key once the owner is gone (the hand-off order).
            if memberCount > 1 {
                let without = HashRing(members: ring.members.filter { $0 != full[0] }, virtualNodes: 20)
                #expect(without.owner(of: key) == full[1], "seed \(seed) key \(key)")
            }
        }
    }

    /// Walks the sorted virtual nodes from the key's position, collecting new members.
    static func reference(_ ring: HashRing, _ key: String) -> [String] {
        let h = HashRing.hash(key)
        let start = ring.points.firstIndex { $0 >= h } ?? 0
        var result: [String] = []
        for step in 0..<ring.points.count {
            let member = ring.members[Int(ring.owners[(start + step) % ring.points.count])]
            if !result.contains(member) { result.append(member) }
        }
        return result
    }
}

@Suite("Arcs")
struct RingArcTests {
    @Test("contains follows (start, end] with wrap-around")
    func contains() {
        let plain = RingArc(start: 10, end: 20, from: "a", to: "b")
        #expect(!plain.contains(10) && plain.contains(11) && plain.contains(20) && !plain.contains(21))
        #expect(!plain.contains(0) && !plain.contains(.max))
        let wrapping = RingArc(start: .max - 5, end: 3, from: "a", to: "b")
        #expect(!wrapping.contains(.max - 5) && wrapping.contains(.max - 4) && wrapping.contains(.max))
        #expect(wrapping.contains(0) && wrapping.contains(3) && !wrapping.contains(4) && !wrapping.contains(1_000))
        let whole = RingArc(start: 7, end: 7, from: nil, to: "b")
        #expect(whole.contains(7) && whole.contains(0) && whole.contains(.max) && whole.contains(8))
    }
}
