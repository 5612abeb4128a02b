import ChatCore
import NIOCore
import Testing

@testable import Cluster

/// The subscriber side: what a node's clients receive of a room while its owner changes.
@Suite("LocalRooms: clients that stay connected get every message live, once, in order")
struct LocalRoomsTests {
    func message(_ seq: UInt64) -> ChatMessage {
        ChatMessage(room: "r", seq: seq, id: "m\(seq)", user: "x", text: "t\(seq)", ts: 0)
    }

    func snapshot(seq: UInt64, messages: ClosedRange<UInt64>? = nil) -> RoomSnapshot {
        RoomSnapshot(seq: seq, messages: messages.map { $0.map(message) } ?? [], members: [], truncated: false)
    }

    /// The seqs of the message frames a connection got, in order.
    func seqs(_ transport: RecordingTransport) async throws -> [UInt64] {
        try await transport.eventLoop.submit {}.get()
        return transport.written.compactMap { frame -> UInt64? in
            let text = String(buffer: frame)
            guard text.contains("\"type\":\"message\""), let range = text.firstRange(of: "\"seq\":") else { return nil }
            return UInt64(text[range.upperBound...].prefix { $0.isNumber })
        }
    }

    /// Chaos seed 2: the room's owner n3 was killed and restarted at once. This node lost its
    /// subscription (owner unknown) and was resubscribing; meanwhile clients of the dead n3
    /// reconnected here and joined the room at the new n3, whose snapshot (seq 249) was ahead of
    /// what this node had delivered (238). The join used to set the room's `lastSeq` to 249 and its
    /// owner to n3: the resubscribe was skipped, and the clients that stayed connected never got
    /// 239-249.
    @Test func aJoinAnsweredAheadOfTheRoomDoesNotSkipItsOtherClients() async throws {
        let local = LocalRooms()
        let stayed = RecordingTransport()
        let joiner = RecordingTransport()
        let a = ClientConnection(id: 1, session: "a", format: .json, capacity: 1024, transport: stayed)
        let b = ClientConnection(id: 2, session: "b", format: .json, capacity: 1024, transport: joiner)
        #expect(local.add(connection: a, user: "a", room: "r", owner: "n3", snapshot: snapshot(seq: 238), joined: nil))
        local.ownerLost("n3")
        let subscribed = local.add(connection: b, user: "b", room: "r", owner: "n3", snapshot: snapshot(seq: 249), joined: nil)
        #expect(!subscribed, "the room must subscribe again: its other client misses 239-249")
        #expect(local.subscriptions { _, owner in owner == nil }.map(\.since) == [238])
        // A live push from the new owner before the resubscribe is not delivered out of order...
        local.deliver(message(250), from: "n3")
        // ...the resubscribe (since 238) brings everything, in order.
        local.resubscribed(room: "r", owner: "n3", missed: snapshot(seq: 250, messages: 239...250))
        local.deliver(message(251), from: "n3")
        #expect(try await seqs(stayed) == Array(239...251))
        #expect(try await seqs(joiner) == [250, 251], "the joiner's joined covered up to 249")
    }

    /// A join answered in order with the subscribed owner's pushes changes nothing.
    @Test func aJoinAtTheSubscribedOwnerKeepsTheSubscription() async throws {
        let local = LocalRooms()
        let first = RecordingTransport()
        let second = RecordingTransport()
        let a = ClientConnection(id: 1, session: "a", format: .json, capacity: 64, transport: first)
        let b = ClientConnection(id: 2, session: "b", format: .json, capacity: 64, transport: second)
        #expect(local.add(connection: a, user: "a", room: "r", owner: "n1", snapshot: snapshot(seq: 3), joined: nil))
        local.deliver(message(4), from: "n1")
        #expect(local.add(connection: b, user: "b", room: "r", owner: "n1", snapshot: snapshot(seq: 4), joined: nil))
        local.deliver(message(5), from: "n1")
        #expect(try await seqs(first) == [4, 5])
        #expect(try await seqs(second) == [5])
    }
}
