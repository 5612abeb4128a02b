import Testing

@testable import ChatCore

@Suite("RoomStateMachine: commit after replication, snapshots, replicas")
struct RoomStateMachineReplicationTests {
    @Test func aSequencedMessageIsInvisibleUntilItCommits() {
        var room = RoomStateMachine(room: "r")
        let actions = room.send(user: "u", id: "a", text: "t", now: 5)
        let message = ChatMessage(room: "r", seq: 1, id: "a", user: "u", text: "t", ts: 5)
        #expect(actions == [.replicate(message)], "nothing is delivered, persisted or acked yet")
        #expect(room.lastSeq == 1 && room.committedSeq == 0)
        #expect(room.latest(limit: 10).isEmpty)
        #expect(room.messages(since: 0).messages.isEmpty)
        #expect(room.messages(before: nil, limit: 10).isEmpty)
        #expect(room.uncommitted == [message])
        let committed = room.commit(through: 1)
        #expect(committed == [.persist(message), .deliver(message), .ack(room: "r", id: "a", seq: 1, duplicate: false)])
        #expect(room.latest(limit: 10) == [message])
        #expect(room.uncommitted.isEmpty)
    }

    @Test func aRetryOfAPendingMessageWaitsForItsCommit() {
        var room = RoomStateMachine(room: "r")
        _ = room.send(user: "u", id: "a", text: "t", now: 1)
        let pending = room.send(user: "u", id: "a", text: "t", now: 2)
        #expect(pending == [.awaitCommit(room: "r", id: "a", seq: 1)])
        _ = room.commit(through: 1)
        let committed = room.send(user: "u", id: "a", text: "t", now: 3)
        #expect(committed == [.ack(room: "r", id: "a", seq: 1, duplicate: true)])
    }

    @Test func commitsGoInOrderAndNeverBackwards() {
        var room = RoomStateMachine(room: "r")
        for id in ["a", "b", "c"] { _ = room.send(user: "u", id: id, text: "t", now: 1) }
        let first = room.commit(through: 2).compactMap { if case .deliver(let m) = $0 { m.seq } else { nil } }
        #expect(first == [1, 2])
        let again = room.commit(through: 1)
        #expect(again.isEmpty)
        let rest: [UInt64] = room.commit(through: 99).compactMap { if case .deliver(let m) = $0 { m.seq } else { nil } }
        #expect(rest == [3])
        #expect(room.committedSeq == 3)
    }

    @Test func aSnapshotContinuesTheRoomExactly() {
        var room = RoomStateMachine(room: "r", configuration: .init(logCapacity: 4, idempotencyWindow: 8))
        for i in 1...6 { _ = room.send(user: "u", id: "\(i)", text: "t", now: Int64(i * 10)) }
        _ = room.commit(through: 5)
        var next = RoomStateMachine(room: "r", configuration: room.configuration, snapshot: room.snapshot)
        #expect(next.committedSeq == 6, "everything shipped counts as committed")
        #expect(next.latest(limit: 10).map(\.seq) == [3, 4, 5, 6])
        let retry = next.send(user: "u", id: "2", text: "t", now: 0)
        #expect(retry == [.ack(room: "r", id: "2", seq: 2, duplicate: true)], "ids travel")
        guard case .replicate(let message) = next.send(user: "u", id: "7", text: "t", now: 0).first else {
            Issue.record("not sequenced")
            return
        }
        #expect(message.seq == 7 && message.ts == 60, "seq and time continue")
    }

    @Test func aReplicaAcceptsOnlyTheNextMessages() {
        var owner = RoomStateMachine(room: "r")
        var replica = RoomStateMachine(room: "r")
        var sent: [ChatMessage] = []
        for i in 1...3 {
            if case .replicate(let m) = owner.send(user: "u", id: "\(i)", text: "t", now: 1).first { sent.append(m) }
        }
        let gap = replica.appendReplicated(Array(sent[1...]))
        let hole = replica.appendReplicated([sent[0], sent[2]])
        #expect(!gap && !hole, "a gap or a hole is refused")
        #expect(replica.lastSeq == 0)
        let first = replica.appendReplicated(Array(sent[..<2]))
        let second = replica.appendReplicated([sent[2]])
        let repeated = replica.appendReplicated([sent[2]])
        #expect(first && second)
        #expect(!repeated, "a repeat is refused")
        #expect(replica.snapshot.log == sent)
        let retry = replica.send(user: "u", id: "1", text: "t", now: 1)
        #expect(retry == [.ack(room: "r", id: "1", seq: 1, duplicate: true)])
    }
}
