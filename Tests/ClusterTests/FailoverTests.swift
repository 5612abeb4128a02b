import ChatCore
import Ring
import Synchronization
import Testing

@testable import Cluster

/// Replication before ack and failover, with owners wired in memory (`InMemoryCluster`).
@Suite("Failover: a dead owner's rooms continue on its successor", .timeLimit(.minutes(1)))
struct FailoverTests {
    let members = ["a", "b", "c"]

    func successor(of room: String, among members: [String]) -> String {
        HashRing(members: members, virtualNodes: 64).preferenceList(of: room, count: 2)[1]
    }

    @Test func aMessageIsAckedOnlyOnceItsSuccessorHoldsIt() async throws {
        let cluster = InMemoryCluster(members)
        let room = InMemoryCluster.room(ownedBy: "a", among: members)
        let next = successor(of: room, among: members)
        _ = try await cluster.owner("a").send(room: room, user: "u", id: "1", text: "t")
        cluster.setReachable(next, false)
        let send = Task { try await cluster.owner("a").send(room: room, user: "u", id: "2", text: "t") }
        try await Task.sleep(for: .milliseconds(200))
        #expect(cluster.owner("a").committedSeq(of: room) == 1, "seq 2 is not visible while unreplicated")
        cluster.setReachable(next, true)
        #expect(try await send.value.seq == 2)
        guard case .replica(let holder, let transfer) = cluster.owner(next).answerClaim(room: room, claimer: "x") else {
            Issue.record("the successor holds no replica")
            return
        }
        #expect(holder == "a")
        #expect(transfer.snapshot.log.map(\.id) == ["1", "2"])
    }

    @Test func aDeadOwnersRoomContinuesItsSeqAndKnowsItsIds() async throws {
        let cluster = InMemoryCluster(members)
        let room = InMemoryCluster.room(ownedBy: "a", among: members)
        for i in 1...5 { #expect(try await cluster.owner("a").send(room: room, user: "u", id: "\(i)", text: "t").seq == UInt64(i)) }
        let survivors = cluster.kill("a")
        let newOwner = try #require(cluster.ownerOf(room, on: survivors[0]))
        #expect(newOwner == successor(of: room, among: members), "the successor takes over")
        let retry = try await cluster.owner(newOwner).sendRetrying(room: room, user: "u", id: "3")
        #expect(retry.seq == 3 && retry.duplicate, "a retry after failover returns the original ack")
        #expect(try await cluster.owner(newOwner).sendRetrying(room: room, user: "u", id: "6").seq == 6)
        #expect(try await cluster.owner(newOwner).committed(room).map(\.id) == ["1", "2", "3", "4", "5", "6"])
    }

    @Test func aDeadOwnersUsersLeavePresence() async throws {
        let cluster = InMemoryCluster(members)
        let room = InMemoryCluster.room(ownedBy: "a", among: members)
        let owner = cluster.owner("a")
        try await owner.join(room: room, user: "dave", since: nil, subscriber: RecordingSubscriber("a")) { _ in }
        try await owner.join(room: room, user: "bob", since: nil, subscriber: RecordingSubscriber("b")) { _ in }
        try await cluster.settle()
        let survivors = cluster.kill("a")
        let newOwner = try #require(cluster.ownerOf(room, on: survivors[0]))
        try await cluster.settle()
        #expect(try await cluster.owner(newOwner).info(room: room).members == ["bob"])
    }

    @Test func aStaleOwnerCannotCommitAfterItsSuccessorTookOver() async throws {
        let cluster = InMemoryCluster(members)
        let room = InMemoryCluster.room(ownedBy: "a", among: members)
        let next = successor(of: room, among: members)
        _ = try await cluster.owner("a").send(room: room, user: "u", id: "1", text: "t")
        // "a" pauses: the others declare it dead; its successor takes the room over.
        cluster.setReachable("a", false)
        let others = members.filter { $0 != "a" }
        cluster.setRing(others, on: others)
        #expect(try await cluster.owner(next).sendRetrying(room: room, user: "v", id: "x").seq == 2)
        // "a" resumes with its old ring and still believes it owns the room.
        cluster.setReachable("a", true)
        await #expect(throws: ProtocolError.self) {
            try await cluster.owner("a").send(room: room, user: "u", id: "stale", text: "t")
        }
        let log = try await cluster.owner(next).committed(room)
        #expect(log.map(\.id) == ["1", "x"], "the stale owner's message was never committed anywhere")
    }

    @Test func withoutReplicasAndWithoutHistoryARoomStartsFresh() async throws {
        let cluster = InMemoryCluster(["a"])
        #expect(try await cluster.owner("a").send(room: "r", user: "u", id: "1", text: "t").seq == 1, "alone, an owner acks its own append")
    }
}

/// Presence belongs to a node's process: a node restarted under the same id does not bring back
/// the sessions of its earlier process, however the room's state travelled.
@Suite("Sessions of a restarted node", .timeLimit(.minutes(1)))
struct RestartedNodeSessionTests {
    @Test func aTakeOverDropsSessionsOfAnEarlierProcess() async throws {
        let cluster = InMemoryCluster(["a", "b", "c"])
        cluster.boots.withLock { $0 = ["a": "a1", "b": "b1", "c": "c1"] }
        let room = InMemoryCluster.room(ownedBy: "a", among: ["a", "b", "c"])
        try await cluster.owner("a").join(room: room, user: "old", since: nil, subscriber: RecordingSubscriber("c", boot: "c1")) { _ in }
        try await cluster.owner("a").join(room: room, user: "bob", since: nil, subscriber: RecordingSubscriber("b", boot: "b1")) { _ in }
        try await cluster.settle()
        cluster.boots.withLock { $0["c"] = "c2" }  // c restarted; still a member
        let survivors = cluster.kill("a")
        let newOwner = try #require(cluster.ownerOf(room, on: survivors[0]))
        try await cluster.settle()
        #expect(try await cluster.owner(newOwner).info(room: room).members == ["bob"])
    }

    @Test func aJoinFromARestartedNodeReplacesItsEarlierSessions() async throws {
        let cluster = InMemoryCluster(["o"])
        cluster.boots.withLock { $0 = ["o": "o1", "n": "n1"] }
        let owner = cluster.owner("o")
        let watcher = RecordingSubscriber("w")
        try await owner.join(room: "r", user: "watch", since: nil, subscriber: watcher) { _ in }
        let earlier = RecordingSubscriber("n", boot: "n1")
        try await owner.join(room: "r", user: "ghost", since: nil, subscriber: earlier) { _ in }
        cluster.boots.withLock { $0["n"] = "n2" }
        try await owner.join(room: "r", user: "fresh", since: nil, subscriber: RecordingSubscriber("n", boot: "n2")) { _ in }
        #expect(try await owner.info(room: "r").members == ["fresh", "watch"])
        #expect(watcher.presence.contains { $0.kind == .leave && $0.user == "ghost" }, "the others hear the earlier process's users leave")
        // A request still in flight from the earlier process is refused, not registered.
        await #expect(throws: ProtocolError.self) {
            try await owner.resubscribe(room: "r", since: 0, sessions: [UserSessions(user: "ghost", count: 1)], subscriber: earlier) { _ in
            }
        }
        #expect(try await owner.info(room: "r").members == ["fresh", "watch"])
    }

    @Test func theSweepDropsSessionsOfGoneNodesAndEarlierProcesses() async throws {
        let cluster = InMemoryCluster(["o"])
        cluster.boots.withLock { $0 = ["o": "o1", "n": "n1", "m": "m1"] }
        let owner = cluster.owner("o")
        let watcher = RecordingSubscriber("w")
        try await owner.join(room: "r", user: "watch", since: nil, subscriber: watcher) { _ in }
        try await owner.join(room: "r", user: "ghost", since: nil, subscriber: RecordingSubscriber("n", boot: "n1")) { _ in }
        try await owner.join(room: "r", user: "gone", since: nil, subscriber: RecordingSubscriber("m", boot: "m1")) { _ in }
        owner.sweepSessions { _ in false }
        #expect(try await owner.info(room: "r").members == ["ghost", "gone", "watch"], "nothing stale yet")
        cluster.boots.withLock { $0["n"] = "n2" }
        owner.sweepSessions { $0 == "m" }
        #expect(try await owner.info(room: "r").members == ["watch"])
        #expect(watcher.presence.filter { $0.kind == .leave }.map(\.user).sorted() == ["ghost", "gone"])
    }
}
