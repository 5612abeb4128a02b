import Gossip
import Testing

@testable import Cluster

/// `RosterQuorum`: a node orders rooms only while it sees a majority of the roster.
@Suite("Roster quorum")
struct RosterQuorumTests {
    static func members(_ statuses: [String: MemberStatus]) -> [GossipMember] {
        statuses.map { GossipMember(id: $0.key, address: GossipAddress(host: "10.0.0.1", port: 7946), status: $0.value) }
    }

    @Test("three nodes: one cut off holds no quorum, the other two do")
    func threeNodes() {
        let minority = RosterQuorum(members: Self.members(["a": .alive, "b": .dead, "c": .dead]), me: "a")
        #expect(!minority.holds)
        #expect(minority.roster == ["a", "b", "c"] && minority.seen == ["a"])
        let majority = RosterQuorum(members: Self.members(["a": .dead, "b": .alive, "c": .suspect]), me: "b")
        #expect(majority.holds, "a suspect still counts as seen")
    }

    @Test("a member that left gracefully leaves the roster; a dead one stays in it")
    func leftAndDead() {
        #expect(RosterQuorum(members: Self.members(["a": .alive, "b": .left, "c": .left]), me: "a").holds)
        #expect(!RosterQuorum(members: Self.members(["a": .alive, "b": .left, "c": .dead]), me: "a").holds)
        #expect(RosterQuorum(members: Self.members(["a": .alive, "b": .alive, "c": .dead, "d": .left]), me: "a").holds)
    }

    @Test("one node orders alone; two nodes need both; five split two and three")
    func sizes() {
        #expect(RosterQuorum(members: [], me: "solo").holds, "before gossip reports anything, a node is its own roster")
        #expect(RosterQuorum(members: Self.members(["a": .alive]), me: "a").holds)
        #expect(!RosterQuorum(members: Self.members(["a": .alive, "b": .dead]), me: "a").holds)
        let two = Self.members(["a": .alive, "b": .alive, "c": .dead, "d": .dead, "e": .dead])
        #expect(!RosterQuorum(members: two, me: "a").holds)
        let three = Self.members(["a": .dead, "b": .dead, "c": .alive, "d": .alive, "e": .alive])
        #expect(RosterQuorum(members: three, me: "c").holds)
    }
}
