import ChatCore
import Ring
import Synchronization
import Testing

@testable import Cluster

/// Hand-off when a node joins or leaves, with a crash injected at every step.
@Suite("Hand-off: a room moves without gaps and is never ordered twice", .timeLimit(.minutes(1)))
struct HandOffTests {
    /// A room that "c" owns once it joins [a, b], with its owner before the join.
    func movingRoom() -> (room: String, oldOwner: String) {
        let before = HashRing(members: ["a", "b"], virtualNodes: 64)
        let room = InMemoryCluster.room(ownedBy: "c", among: ["a", "b", "c"])
        return (room, before.owner(of: room)!)
    }

    @Test func aJoiningNodeTakesItsRoomsOverFromTheOldOwner() async throws {
        let cluster = InMemoryCluster(["a", "b"])
        let (room, old) = movingRoom()
        for i in 1...5 { _ = try await cluster.owner(old).send(room: room, user: "u", id: "\(i)", text: "t") }
        cluster.add("c")
        // The new node learns the ring first: the old owner still orders the room, so it waits.
        cluster.setRing(["a", "b", "c"], on: ["c"])
        await #expect(throws: ProtocolError.self) { try await cluster.owner("c").send(room: room, user: "u", id: "6", text: "t") }
        cluster.setRing(["a", "b", "c"], on: ["a", "b"])
        #expect(try await cluster.owner("c").sendRetrying(room: room, user: "u", id: "6").seq == 6)
        #expect(try await cluster.owner("c").sendRetrying(room: room, user: "u", id: "2").duplicate)
        #expect(try await cluster.owner("c").committed(room).map(\.seq) == [1, 2, 3, 4, 5, 6])
        await #expect(throws: ProtocolError.self) { try await cluster.owner(old).send(room: room, user: "u", id: "7", text: "t") }
    }

    @Test func aLeavingNodeHandsItsRoomsToTheirNewOwners() async throws {
        let cluster = InMemoryCluster(["a", "b", "c"])
        let room = InMemoryCluster.room(ownedBy: "c", among: ["a", "b", "c"])
        for i in 1...5 { _ = try await cluster.owner("c").send(room: room, user: "u", id: "\(i)", text: "t") }
        await cluster.owner("c").handOffAll(timeout: .seconds(1))
        await #expect(throws: ProtocolError.self) { try await cluster.owner("c").send(room: room, user: "u", id: "x", text: "t") }
        cluster.setRing(["a", "b"], on: ["a", "b"])
        cluster.setReachable("c", false)
        let newOwner = try #require(cluster.ownerOf(room, on: "a"))
        #expect(try await cluster.owner(newOwner).sendRetrying(room: room, user: "u", id: "6").seq == 6)
        #expect(try await cluster.owner(newOwner).committed(room).map(\.id) == ["1", "2", "3", "4", "5", "6"])
    }

    /// Where the hand-off is interrupted.
    enum Fault: String, CaseIterable, CustomTestStringConvertible {
        /// The old owner sealed the room and answered, but the answer was lost.
        case claimAnswerLost
        /// The new owner took over, but its first sync to its successor was lost.
        case firstSyncLost
        /// The new owner crashed right after taking over.
        case newOwnerCrashed
        /// The old owner crashed after sealing, before the new owner asked.
        case oldOwnerCrashedAfterSealing

        var testDescription: String { rawValue }
    }

    @Test(arguments: Fault.allCases)
    func anInterruptedHandOffLosesNothing(fault: Fault) async throws {
        let cluster = InMemoryCluster(["a", "b", "d"])
        let before = ["a", "b", "d"]
        let after = ["a", "b", "c", "d"]
        let room = InMemoryCluster.room(ownedBy: "c", among: after)
        let old = HashRing(members: before, virtualNodes: 64).owner(of: room)!
        for i in 1...5 { _ = try await cluster.owner(old).send(room: room, user: "u", id: "\(i)", text: "t") }
        try await cluster.settle()
        cluster.add("c")
        switch fault {
        case .claimAnswerLost:
            cluster.loseNextReplyFrom.withLock { _ = $0.insert(old) }
            cluster.setRing(after, on: after)
        case .firstSyncLost:
            let successor = HashRing(members: after, virtualNodes: 64).preferenceList(of: room, count: 2)[1]
            cluster.loseNextReplyFrom.withLock { _ = $0.insert(successor) }
            cluster.setRing(after, on: after)
        case .newOwnerCrashed:
            cluster.setRing(after, on: after)
            try await cluster.settle()
            cluster.kill("c")
        case .oldOwnerCrashedAfterSealing:
            cluster.setRing(after, on: before)
            cluster.kill(old)
            cluster.setRing(after.filter { $0 != old }, on: ["c"])
        }
        let alive = cluster.nodes.withLock { Set($0.keys) }
        let ring = after.filter { alive.contains($0) }
        let owner = HashRing(members: ring, virtualNodes: 64).owner(of: room)!
        #expect(try await cluster.owner(owner).sendRetrying(room: room, user: "u", id: "3").seq == 3, "the ids travelled")
        #expect(try await cluster.owner(owner).sendRetrying(room: room, user: "u", id: "6").seq == 6, "the seq continues")
        #expect(try await cluster.owner(owner).committed(room).map(\.id) == ["1", "2", "3", "4", "5", "6"])
    }
}
