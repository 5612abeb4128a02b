import Testing

@testable import Ring

@Suite("diff(to:) and ownerChanges(of:to:)")
struct DiffTests {
    /// A pair of rings and how the second came from the first.
    struct Scenario: Sendable, CustomTestStringConvertible {
        let name: String
        let old: [String]
        let new: [String]
        var oldVirtualNodes = 16
        var newVirtualNodes = 16
        var testDescription: String { name }
    }

    static func randomScenarios() -> [Scenario] {
        var scenarios: [Scenario] = []
        for seed in UInt64(1)...12 {
            var rng = SplitMix64(seed: seed)
            let count = Int(rng.next() % 12) + 1
            let base = (0..<count).map { _ in rng.name(prefix: "m-") }
            var new = base
            switch seed % 4 {
            case 0: new.append(rng.name(prefix: "join-"))
            case 1: if new.count > 1 { new.remove(at: Int(rng.next() % UInt64(new.count))) } else { new = [rng.name()] }
            case 2: new[0] = rng.name(prefix: "swap-")
            default:
                new.removeLast(min(2, new.count - 1))
                new += [rng.name(prefix: "x-"), rng.name(prefix: "y-"), rng.name(prefix: "z-")]
            }
            scenarios.append(Scenario(name: "random seed \(seed)", old: base, new: new))
        }
        return scenarios
    }

    static let scenarios: [Scenario] =
        randomScenarios() + [
            Scenario(name: "empty to three", old: [], new: ["a", "b", "c"]),
            Scenario(name: "three to empty", old: ["a", "b", "c"], new: []),
            Scenario(name: "one to another one (whole circle)", old: ["a"], new: ["b"]),
            Scenario(name: "one virtual node each", old: ["a", "b"], new: ["a", "b", "c"], oldVirtualNodes: 1, newVirtualNodes: 1),
            Scenario(name: "more virtual nodes", old: ["a", "b", "c"], new: ["a", "b", "c"], oldVirtualNodes: 8, newVirtualNodes: 20),
            Scenario(
                name: "default virtual nodes, 50 + 1", old: Fixture.nodes(50), new: Fixture.nodes(51),
                oldVirtualNodes: HashRing.defaultVirtualNodes, newVirtualNodes: HashRing.defaultVirtualNodes),
        ]

    @Test("every changed position lies in exactly one arc with the same from/to; others in none", arguments: scenarios)
    func agreesWithOwners(scenario: Scenario) {
        let old = HashRing(members: scenario.old, virtualNodes: scenario.oldVirtualNodes)
        let new = HashRing(members: scenario.new, virtualNodes: scenario.newVirtualNodes)
        let arcs = old.diff(to: new)
        Self.checkShape(arcs, scenario.name)

        // Random keys through ownerChanges.
        var rng = SplitMix64(seed: UInt64(scenario.name.utf8.count))
        let keys = (0..<3_000).map { _ in rng.name() }
        let changes = old.ownerChanges(of: keys, to: new)
        var changeIndex = 0
        for key in keys {
            let from = old.owner(of: key)
            let to = new.owner(of: key)
            let containing = Self.arcs(arcs, containing: HashRing.hash(key))
            if from != to {
                #expect(
                    changeIndex < changes.count && changes[changeIndex] == RingChange(key: key, from: from, to: to),
                    "\(scenario.name): key \(key)")
                changeIndex += 1
                #expect(
                    containing.count == 1 && containing.first?.from == from && containing.first?.to == to,
                    "\(scenario.name): key \(key) \(from ?? "nil") -> \(to ?? "nil") in \(containing)")
            } else {
                #expect(containing.isEmpty, "\(scenario.name): key \(key) kept \(from ?? "nil") but is in \(containing)")
            }
        }
        #expect(changeIndex == changes.count, "\(scenario.name): ownerChanges lists only changed keys, in order")

        // Positions right at and around every arc edge and every virtual node, and the wrap point.
        var probes: [UInt64] = [0, 1, .max, .max - 1]
        for arc in arcs { probes += [arc.start, arc.start &+ 1, arc.end, arc.end &+ 1, arc.end &- 1] }
        for p in old.points.prefix(500) + new.points.prefix(500) { probes += [p, p &+ 1, p &- 1] }
        for _ in 0..<3_000 { probes.append(rng.next()) }
        for h in probes {
            let from = old.owner(ofHash: h)
            let to = new.owner(ofHash: h)
            let containing = Self.arcs(arcs, containing: h)
            if from != to {
                #expect(
                    containing.count == 1 && containing.first?.from == from && containing.first?.to == to, "\(scenario.name): position \(h)"
                )
            } else {
                #expect(containing.isEmpty, "\(scenario.name): position \(h) kept its owner but is in \(containing)")
            }
        }
    }

    /// The arcs containing `h`, given arcs that `checkShape` accepts (sorted by end, disjoint, only
    /// the first may wrap): the first arc ending at or after `h`, and the wrapping arc.
    static func arcs(_ arcs: [RingArc], containing h: UInt64) -> [RingArc] {
        var low = 0
        var high = arcs.count
        while low < high {
            let mid = (low + high) / 2
            if arcs[mid].end < h { low = mid + 1 } else { high = mid }
        }
        var candidates: Set<Int> = []
        if low < arcs.count { candidates.insert(low) }
        if let first = arcs.first, first.start >= first.end { candidates.insert(0) }
        return candidates.sorted().map { arcs[$0] }.filter { $0.contains(h) }
    }

    /// Sorted by end, at most one wrapping arc and it comes first, maximal, never unchanged.
    static func checkShape(_ arcs: [RingArc], _ name: String) {
        for arc in arcs { #expect(arc.from != arc.to, "\(name): \(arc)") }
        for (i, arc) in arcs.enumerated() where arc.start >= arc.end {
            #expect(i == 0, "\(name): only the first arc may wrap")
        }
        for (a, b) in zip(arcs, arcs.dropFirst()) {
            #expect(a.end < b.end, "\(name): sorted by end")
            #expect(a.end <= b.start, "\(name): disjoint")
            if a.end == b.start { #expect(a.from != b.from || a.to != b.to, "\(name): maximal") }
        }
        if let first = arcs.first, first.start == first.end {
            #expect(arcs.count == 1, "\(name): a whole-circle arc is alone")
        }
        if arcs.count > 1, let first = arcs.first, let last = arcs.last {
            if first.start > first.end { #expect(last.end <= first.start, "\(name): disjoint across the wrap") }
            if first.start == last.end {
                #expect(first.from != last.from || first.to != last.to, "\(name): maximal across the wrap")
            }
        }
    }

    @Test("equal rings have no diff and no changes")
    func equalRings() {
        let a = HashRing(members: ["x", "y", "z"], virtualNodes: 32)
        let b = HashRing(members: ["z", "y", "x", "x"], virtualNodes: 32)
        #expect(a.diff(to: b) == [])
        #expect(a.ownerChanges(of: Fixture.rooms.prefix(1_000), to: b) == [])
    }

    @Test("one member replaced by another is one whole-circle arc")
    func wholeCircle() {
        let arcs = HashRing(members: ["a"], virtualNodes: 4).diff(to: HashRing(members: ["b"], virtualNodes: 4))
        #expect(arcs.count == 1)
        #expect(arcs.first?.start == arcs.first?.end && arcs.first?.from == "a" && arcs.first?.to == "b")
        let fromEmpty = HashRing(members: [String]()).diff(to: HashRing(members: ["b"], virtualNodes: 4))
        #expect(fromEmpty.count == 1 && fromEmpty[0].start == fromEmpty[0].end && fromEmpty[0].from == nil)
    }

    @Test("a change around position 0 gives one arc that wraps past UInt64.max")
    func wrapAround() throws {
        let old = HashRing(members: ["a", "b", "c"], virtualNodes: 4)
        // Find (deterministically) a newcomer that takes over the arc around position 0.
        var found: (HashRing, [RingArc])? = nil
        for i in 0..<1_000 {
            let new = HashRing(members: ["a", "b", "c", "joiner-\(i)"], virtualNodes: 4)
            let arcs = old.diff(to: new)
            if arcs.first.map({ $0.start > $0.end }) == true {
                found = (new, arcs)
                break
            }
        }
        let (new, arcs) = try #require(found)
        let wrapping = arcs[0]
        #expect(wrapping.contains(0) && wrapping.contains(.max))
        #expect(new.owner(ofHash: 0) == wrapping.to && old.owner(ofHash: 0) == wrapping.from)
        #expect(new.owner(ofHash: .max) == wrapping.to && old.owner(ofHash: .max) == wrapping.from)
        Self.checkShape(arcs, "wrap")
    }
}
