import ChatCore
import History
import Logging
import NIOCore
import Synchronization
import Testing

@testable import Cluster

/// A history store whose loads wait until the test opens the gate.
final class GatedHistoryStore: HistoryStore {
    private let gate: AsyncStream<Void>
    private let opener: AsyncStream<Void>.Continuation

    init() {
        (gate, opener) = AsyncStream.makeStream(of: Void.self)
    }

    func open() { opener.finish() }

    func load(room: String, limit: Int) async throws -> [ChatMessage] {
        for await _ in gate {}
        return []
    }

    func append(_ message: ChatMessage) {}

    func flush(timeout: Duration) async -> Bool { true }
}

@Suite("Ownership: only the ring's owner orders a room")
struct OwnershipTests {
    @Test func requestsForARoomThisNodeNoLongerOwnsAreUnavailable() async throws {
        let cluster = InMemoryCluster(["o"])
        let owner = cluster.owner("o")
        let room = InMemoryCluster.room(ownedBy: "p", among: ["o", "p"])
        let fresh = InMemoryCluster.room(ownedBy: "p", among: ["o", "p"], prefix: "fresh")
        #expect(try await owner.send(room: room, user: "u", id: "1", text: "t").seq == 1)
        cluster.setRing(["o", "p"], on: ["o"])
        await #expect(throws: ProtocolError.self) { try await owner.send(room: room, user: "u", id: "2", text: "t") }
        await #expect(throws: ProtocolError.self) { try await owner.send(room: fresh, user: "u", id: "1", text: "t") }
        #expect(owner.roomCount == 0, "no room is ordered for a request it does not own")
        #expect(owner.replicaCount == 1, "the sealed room is kept for its new owner")
    }

    @Test(.timeLimit(.minutes(1)))
    func aLoadInFlightWhenTheRoomMovesIsNotInstalled() async throws {
        let history = GatedHistoryStore()
        let cluster = InMemoryCluster(["o"], history: { _ in history })
        let owner = cluster.owner("o")
        let room = InMemoryCluster.room(ownedBy: "p", among: ["o", "p"])
        let send = Task { try await owner.send(room: room, user: "u", id: "1", text: "t") }
        // Wait until the take-over has started (the slot exists), then move the room away.
        while owner.rooms.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(5)) }
        cluster.setRing(["o", "p"], on: ["o"])
        history.open()
        await #expect(throws: ProtocolError.self) { try await send.value }
        #expect(owner.roomCount == 0, "the loaded room was not installed on a node that lost it")
    }

    @Test func pushesFromAnotherThanTheSubscribedOwnerAreDropped() async throws {
        let local = LocalRooms()
        let transport = RecordingTransport()
        let connection = ClientConnection(id: 1, session: "s", format: .json, capacity: 16, transport: transport)
        local.add(
            connection: connection, user: "u", room: "r", owner: "n1",
            snapshot: RoomSnapshot(seq: 0, messages: [], members: [], truncated: false), joined: nil)
        local.deliver(ChatMessage(room: "r", seq: 1, id: "a", user: "x", text: "stale", ts: 0), from: "n2")
        local.deliver(ChatMessage(room: "r", seq: 1, id: "b", user: "x", text: "real", ts: 0), from: "n1")
        local.deliver(ChatMessage(room: "r", seq: 1, id: "b", user: "x", text: "real", ts: 0), from: "n1")
        try await transport.eventLoop.submit {}.get()
        let texts = transport.written.map { String(buffer: $0) }
        #expect(texts.count == 1, "one delivery: not the stale owner's, not the repeat")
        #expect(texts.first?.contains("\"text\":\"real\"") == true)
    }
}
