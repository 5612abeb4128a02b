import Testing

@testable import Ring

/// Balance and movement over the 100,000 keys "room-0" ... "room-99999", members "node-0" ...,
/// with the default virtual nodes. The hash is fixed, so these figures are exact and
/// reproducible; `ring-bench` prints them too, with a sweep of `virtualNodes`.
@Suite("Distribution with the default virtual nodes")
struct DistributionTests {
    @Test("the most loaded member holds at most 1.15x the mean", arguments: [3, 10, 50])
    func balance(memberCount: Int) {
        let ring = HashRing(members: Fixture.nodes(memberCount))
        let load = Fixture.load(of: ring)
        let mean = Double(Fixture.keyCount) / Double(memberCount)
        let ratio = Double(load.max()!) / mean
        let low = Double(load.min()!) / mean
        print("balance: \(memberCount) members, virtualNodes \(ring.virtualNodes): max/mean \(ratio), min/mean \(low)")
        #expect(load.reduce(0, +) == Fixture.keyCount)
        #expect(ratio <= 1.15, "\(memberCount) members: max/mean \(ratio)")
    }

    @Test("a join moves at most 1.1/(N+1) of the keys, all to the new member", arguments: [3, 10, 50])
    func join(memberCount: Int) {
        let old = HashRing(members: Fixture.nodes(memberCount))
        let newcomer = "node-\(memberCount)"
        let new = HashRing(members: Fixture.nodes(memberCount + 1))
        let changes = old.ownerChanges(of: Fixture.rooms, to: new)
        let fraction = Double(changes.count) / Double(Fixture.keyCount)
        let bound = 1.1 / Double(memberCount + 1)
        print("join: \(memberCount) -> \(memberCount + 1) members moves \(fraction) of keys (1/(N+1) = \(1 / Double(memberCount + 1)))")
        #expect(fraction <= bound, "\(memberCount) members + 1: moved \(fraction) > \(bound)")
        #expect(changes.allSatisfy { $0.to == newcomer && $0.from != nil && $0.from != newcomer })
        // Exactly the keys the newcomer now owns moved; nothing moved between the others.
        #expect(changes.count == Fixture.load(of: new)[new.members.firstIndex(of: newcomer)!])
    }

    @Test("a leave moves only the leaver's keys, each to a remaining member", arguments: [3, 10, 50])
    func leave(memberCount: Int) {
        let old = HashRing(members: Fixture.nodes(memberCount))
        let leaver = "node-1"
        let new = HashRing(members: Fixture.nodes(memberCount).filter { $0 != leaver })
        let changes = old.ownerChanges(of: Fixture.rooms, to: new)
        let fraction = Double(changes.count) / Double(Fixture.keyCount)
        print("leave: \(memberCount) -> \(memberCount - 1) members moves \(fraction) of keys (1/N = \(1 / Double(memberCount)))")
        #expect(changes.allSatisfy { $0.from == leaver && $0.to != nil && $0.to != leaver })
        #expect(changes.count == Fixture.load(of: old)[old.members.firstIndex(of: leaver)!])
        #expect(fraction <= 1.15 / Double(memberCount))
        // Each moved key goes to the second member of its old preference list.
        for change in changes.prefix(2_000) {
            #expect(change.to == old.preferenceList(of: change.key, count: 2).last)
        }
    }
}
