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
        let owned = Mutex(true)
        let owner = RoomOwner(
            nodeID: "o", configuration: .init(), history: MemoryHistoryStore(), logger: Logger(label: "test"), now: { 1 },
            owns: { _ in owned.withLock { $0 } })
        #expect(try await owner.send(room: "r", user: "u", id: "1", text: "t").seq == 1)
        owned.withLock { $0 = false }
        await #expect(throws: ProtocolError.self) { try await owner.send(room: "r", user: "u", id: "2", text: "t") }
        await #expect(throws: ProtocolError.self) { try await owner.send(room: "fresh", user: "u", id: "1", text: "t") }
        #expect(owner.roomCount == 1, "no room was loaded for a request it does not own")
    }

    @Test(.timeLimit(.minutes(1)))
    func aLoadInFlightWhenTheRoomMovesIsDiscarded() async throws {
        let owned = Mutex(true)
        let history = GatedHistoryStore()
        let owner = RoomOwner(
            nodeID: "o", configuration: .init(), history: history, logger: Logger(label: "test"), now: { 1 },
            owns: { _ in owned.withLock { $0 } })
        let send = Task { try await owner.send(room: "r", user: "u", id: "1", text: "t") }
        // Wait until the load has started (the slot exists), then move the room away.
        while owner.roomCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        owned.withLock { $0 = false }
        owner.release { _ in false }
        history.open()
        await #expect(throws: ProtocolError.self) { try await send.value }
        #expect(owner.roomCount == 0, "the loaded room was not installed on a node that lost it")
    }

    @Test func pushesFromAnotherThanTheSubscribedOwnerAreDropped() async {
        let local = LocalRooms()
        let connection = ClientConnection(id: 1, session: "s", format: .json, capacity: 16) {}
        local.add(
            connection: connection, user: "u", room: "r", owner: "n1",
            snapshot: RoomSnapshot(seq: 0, messages: [], members: [], truncated: false), joined: nil)
        local.deliver(ChatMessage(room: "r", seq: 1, id: "a", user: "x", text: "stale", ts: 0), from: "n2")
        local.deliver(ChatMessage(room: "r", seq: 1, id: "b", user: "x", text: "real", ts: 0), from: "n1")
        local.deliver(ChatMessage(room: "r", seq: 1, id: "b", user: "x", text: "real", ts: 0), from: "n1")
        connection.finish()
        var texts: [String] = []
        for await frame in connection.frames { texts.append(String(buffer: frame)) }
        #expect(texts.count == 1, "one delivery: not the stale owner's, not the repeat")
        #expect(texts.first?.contains("\"text\":\"real\"") == true)
    }
}
