import ChatCore
import Ring
import Synchronization
import Testing

@testable import Cluster

/// Reads (joins, resubscribes, pages) are answered only by an owner its successor confirms.
@Suite("Read barrier: a stale owner answers no read", .timeLimit(.minutes(1)))
struct ReadBarrierTests {
    let members = ["a", "b", "c"]

    /// Chaos seed 2: n2 was paused (SIGSTOP) while it ordered a room; the room failed over and
    /// its new owner committed more. n2 resumed still ordering the room and answered a join
    /// (`since` 88) with `joined.seq` 88 from its stale state, while 145 were committed; the
    /// client then saw live frames from 146 on. The join must wait for the successor's
    /// confirmation, which a stale owner never gets.
    @Test func aPausedOwnerThatResumesAnswersNoJoinFromItsStaleState() async throws {
        let cluster = InMemoryCluster(members)
        let room = InMemoryCluster.room(ownedBy: "a", among: members)
        for i in 1...3 { _ = try await cluster.owner("a").send(room: room, user: "u", id: "\(i)", text: "t") }
        // a is paused: the others declare it dead and the room fails over. a's ring is unchanged.
        cluster.setReachable("a", false)
        cluster.setRing(["b", "c"], on: ["b", "c"])
        for node in ["b", "c"] { cluster.owner(node).nodeGone("a") }
        let newOwner = try #require(cluster.ownerOf(room, on: "b"))
        for i in 4...6 { _ = try await cluster.owner(newOwner).sendRetrying(room: room, user: "u", id: "\(i)") }
        // a resumes, still believing it orders the room.
        cluster.setReachable("a", true)
        #expect(cluster.owner("a").roomCount == 1)
        let answered = Mutex<[UInt64]>([])
        await #expect(throws: ProtocolError.self) {
            try await cluster.owner("a").join(room: room, user: "v", since: 3, subscriber: RecordingSubscriber("c")) { snapshot in
                answered.withLock { $0.append(snapshot.seq) }
            }
        }
        #expect(answered.withLock { $0 }.isEmpty, "no snapshot from the stale state")
        #expect(cluster.owner("a").roomCount == 0, "the successor's refusal made a step down")
        await #expect(throws: ProtocolError.self) { _ = try await cluster.owner("a").info(room: room) }
        // The real owner answers, with everything.
        let snapshot = try await cluster.owner(newOwner).info(room: room)
        #expect(snapshot.seq == 6)
    }

    /// A read on a healthy owner waits for one round trip to the successor and then answers
    /// with everything committed; a read arriving while a request is in flight waits for the
    /// next one.
    @Test func aReadOnTheRealOwnerIsAnsweredAfterTheSuccessorConfirms() async throws {
        let cluster = InMemoryCluster(members)
        let room = InMemoryCluster.room(ownedBy: "a", among: members)
        let next = HashRing(members: members, virtualNodes: 64).preferenceList(of: room, count: 2)[1]
        _ = try await cluster.owner("a").send(room: room, user: "u", id: "1", text: "t")
        try await cluster.settle()
        cluster.setReachable(next, false)
        let page = Task { try await cluster.owner("a").messages(room: room, before: nil, since: 0, limit: 10) }
        try await Task.sleep(for: .milliseconds(150))
        cluster.setReachable(next, true)
        #expect(try await page.value.messages.map(\.id) == ["1"])
    }
}
