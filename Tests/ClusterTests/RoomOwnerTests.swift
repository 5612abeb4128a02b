import ChatCore
import History
import Logging
import Synchronization
import Testing

@testable import Cluster

/// A subscribed node that records what the owner pushes to it, in order.
final class RecordingSubscriber: RoomSubscriber {
    let nodeID: String
    let boot: String
    let frames = Mutex<[InternalFrame]>([])
    let active = Mutex(true)

    let link: UInt64

    init(_ nodeID: String, boot: String = "", link: UInt64 = 0) {
        self.nodeID = nodeID
        self.boot = boot
        self.link = link
    }

    var isActive: Bool { active.withLock { $0 } }

    func push(_ frame: InternalFrame) { frames.withLock { $0.append(frame) } }

    var recorded: [InternalFrame] { frames.withLock { $0 } }

    var messageSeqs: [UInt64] {
        recorded.compactMap { if case .message(let m) = $0 { m.seq } else { nil } }
    }

    var presence: [PresenceEvent] {
        recorded.compactMap { if case .presence(let p) = $0 { p } else { nil } }
    }
}

@Suite("RoomOwner: one owner orders a room for many nodes")
struct RoomOwnerTests {
    func makeOwner(history: any HistoryStore = MemoryHistoryStore()) -> RoomOwner {
        InMemoryCluster(["o"], history: { _ in history }).owner("o")
    }

    @Test func sendsArePushedOnceToEachSubscribedNode() async throws {
        let owner = makeOwner()
        let a = RecordingSubscriber("a")
        let b = RecordingSubscriber("b")
        try await owner.join(room: "r", user: "alice", since: nil, subscriber: a) { _ in }
        try await owner.join(room: "r", user: "ann", since: nil, subscriber: a) { _ in }
        try await owner.join(room: "r", user: "bob", since: nil, subscriber: b) { _ in }
        for i in 1...5 { _ = try await owner.send(room: "r", user: "alice", id: "\(i)", text: "t") }
        #expect(a.messageSeqs == [1, 2, 3, 4, 5], "one copy per node, not per session")
        #expect(b.messageSeqs == [1, 2, 3, 4, 5])
        let retry = try await owner.send(room: "r", user: "alice", id: "3", text: "t")
        #expect(retry.seq == 3 && retry.duplicate)
        #expect(a.messageSeqs.count == 5)
    }

    @Test func theJoinReplyComesBeforeLaterPushes() async throws {
        let owner = makeOwner()
        let a = RecordingSubscriber("a")
        _ = try await owner.send(room: "r", user: "x", id: "1", text: "t")
        try await owner.join(room: "r", user: "alice", since: 0, subscriber: a) { snapshot in
            a.push(.joinReply(corr: 1, snapshot: snapshot))
        }
        _ = try await owner.send(room: "r", user: "x", id: "2", text: "t")
        #expect(a.presence.map(\.user) == ["alice"], "the joiner hears its own join after the reply")
        guard case .joinReply(_, let snapshot) = a.recorded.first else {
            Issue.record("first frame is not the join reply: \(a.recorded)")
            return
        }
        #expect(snapshot.seq == 1)
        #expect(snapshot.messages.map(\.seq) == [1])
        #expect(a.messageSeqs == [2])
    }

    @Test func presenceIsAggregatedAcrossNodes() async throws {
        let owner = makeOwner()
        let a = RecordingSubscriber("a")
        let b = RecordingSubscriber("b")
        try await owner.join(room: "r", user: "alice", since: nil, subscriber: a) { _ in }
        try await owner.join(room: "r", user: "alice", since: nil, subscriber: b) { _ in }
        try await owner.join(room: "r", user: "bob", since: nil, subscriber: b) { _ in }
        #expect(try await owner.info(room: "r").members == ["alice", "bob"])
        // alice leaves on node a: she is still on node b, so no presence change.
        try await owner.leave(room: "r", user: "alice", node: "a")
        #expect(try await owner.info(room: "r").members == ["alice", "bob"])
        #expect(b.presence.map(\.user) == ["bob"], "only bob's join was news to b after it subscribed")
        // Node b dies: alice and bob leave.
        let c = RecordingSubscriber("c")
        try await owner.join(room: "r", user: "carol", since: nil, subscriber: c) { _ in }
        owner.nodeGone("b")
        #expect(try await owner.info(room: "r").members == ["carol"])
        #expect(Set(c.presence.filter { $0.kind == .leave }.map(\.user)) == ["alice", "bob"])
        #expect(c.presence.last?.members == 1)
    }

    @Test func resubscribeReplacesSessionsAndSendsWhatWasMissed() async throws {
        let owner = makeOwner()
        let a = RecordingSubscriber("a")
        try await owner.join(room: "r", user: "alice", since: nil, subscriber: a) { _ in }
        for i in 1...6 { _ = try await owner.send(room: "r", user: "x", id: "\(i)", text: "t") }
        let again = RecordingSubscriber("a")
        let missed = Mutex<[UInt64]>([])
        try await owner.resubscribe(
            room: "r", since: 4, sessions: [UserSessions(user: "alice", count: 1), UserSessions(user: "amy", count: 2)],
            subscriber: again
        ) { snapshot in missed.withLock { $0 = snapshot.messages.map(\.seq) } }
        #expect(missed.withLock { $0 } == [5, 6])
        #expect(try await owner.info(room: "r").members == ["alice", "amy"])
        _ = try await owner.send(room: "r", user: "x", id: "7", text: "t")
        #expect(again.messageSeqs == [7], "pushes go to the new subscription")
        #expect(a.messageSeqs == [1, 2, 3, 4, 5, 6])
    }

    @Test func aSubscriberWhoseLinkClosedIsNeverRegistered() async throws {
        let owner = makeOwner()
        let fresh = RecordingSubscriber("a")
        try await owner.join(room: "r", user: "alice", since: nil, subscriber: fresh) { _ in }
        let stale = RecordingSubscriber("a")
        stale.active.withLock { $0 = false }
        await #expect(throws: ProtocolError.self) {
            try await owner.join(room: "r", user: "amy", since: nil, subscriber: stale) { _ in }
        }
        await #expect(throws: ProtocolError.self) {
            try await owner.resubscribe(room: "r", since: 0, sessions: [], subscriber: stale) { _ in }
        }
        _ = try await owner.send(room: "r", user: "x", id: "1", text: "t")
        #expect(fresh.messageSeqs == [1], "the live subscription was not overwritten")
        #expect(stale.recorded.isEmpty)
        #expect(try await owner.info(room: "r").members == ["alice"])
    }

    /// A resubscribe still in flight on a node's older link (closing, not closed yet) arrives
    /// after the node subscribed again on its newer link: it must not take the subscription
    /// over, or the old link's close would leave the node unsubscribed without knowing it.
    @Test func aRequestOnAnOlderLinkDoesNotReplaceANewerSubscription() async throws {
        let owner = makeOwner()
        let newer = RecordingSubscriber("a", link: 2)
        let older = RecordingSubscriber("a", link: 1)
        try await owner.resubscribe(room: "r", since: 0, sessions: [UserSessions(user: "alice", count: 1)], subscriber: newer) { _ in }
        await #expect(throws: ProtocolError.self) {
            try await owner.resubscribe(room: "r", since: 0, sessions: [UserSessions(user: "alice", count: 1)], subscriber: older) { _ in }
        }
        _ = try await owner.send(room: "r", user: "x", id: "1", text: "t")
        #expect(newer.messageSeqs == [1])
        #expect(older.recorded.isEmpty)
        // Once the newer link is gone too, a later link (or the same node's only one) is taken.
        newer.active.withLock { $0 = false }
        let latest = RecordingSubscriber("a", link: 3)
        try await owner.resubscribe(room: "r", since: 1, sessions: [UserSessions(user: "alice", count: 1)], subscriber: latest) { _ in }
        _ = try await owner.send(room: "r", user: "x", id: "2", text: "t")
        #expect(latest.messageSeqs == [2])
    }

    @Test func sealedRoomsTellSubscribersTheyMoved() async throws {
        let history = MemoryHistoryStore()
        let cluster = InMemoryCluster(["o"], history: { _ in history })
        let owner = cluster.owner("o")
        let keep = InMemoryCluster.room(ownedBy: "o", among: ["o", "p"], prefix: "keep")
        let move = InMemoryCluster.room(ownedBy: "p", among: ["o", "p"], prefix: "move")
        let a = RecordingSubscriber("a")
        try await owner.join(room: keep, user: "u", since: nil, subscriber: a) { _ in }
        try await owner.join(room: move, user: "u", since: nil, subscriber: a) { _ in }
        _ = try await owner.send(room: move, user: "u", id: "1", text: "t")
        cluster.setRing(["o", "p"], on: ["o"])
        #expect(a.recorded.contains(.moved(room: move)))
        #expect(!a.recorded.contains(.moved(room: keep)))
        #expect(owner.roomCount == 1)
        // Without any node holding the room, a new owner continues its seq from the history cache.
        let next = InMemoryCluster(["p"], history: { _ in history }).owner("p")
        #expect(try await next.send(room: move, user: "u", id: "2", text: "t").seq == 2)
    }
}
