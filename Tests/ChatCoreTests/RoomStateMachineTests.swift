import Testing

@testable import ChatCore

@Suite("RoomStateMachine")
struct RoomStateMachineTests {
    func messages(_ actions: [RoomStateMachine.Action]) -> [ChatMessage] {
        actions.compactMap { if case .deliver(let m) = $0 { m } else { nil } }
    }

    /// Sends, and commits at once what was sequenced (as an owner whose successor answers).
    func committing(_ room: inout RoomStateMachine, user: String, id: String, text: String, now: Int64) -> [RoomStateMachine.Action] {
        let actions = room.send(user: user, id: id, text: text, now: now)
        guard case .replicate(let message) = actions.first else { return actions }
        return room.commit(through: message.seq)
    }

    func ack(_ actions: [RoomStateMachine.Action]) -> (seq: UInt64, duplicate: Bool)? {
        for action in actions {
            if case .ack(_, _, let seq, let duplicate) = action { return (seq, duplicate) }
        }
        return nil
    }

    @Test func seqStartsAtOneAndRisesByOne() {
        var room = RoomStateMachine(room: "r")
        #expect(room.lastSeq == 0)
        for expected in UInt64(1)...5 {
            let actions = committing(&room, user: "u", id: "m\(expected)", text: "t", now: 100)
            #expect(ack(actions)?.seq == expected)
            #expect(messages(actions).map(\.seq) == [expected])
        }
        #expect(room.lastSeq == 5)
    }

    @Test func actionsComeInOrderPersistDeliverAck() {
        var room = RoomStateMachine(room: "r")
        let actions = committing(&room, user: "u", id: "a", text: "hello", now: 42)
        let message = ChatMessage(room: "r", seq: 1, id: "a", user: "u", text: "hello", ts: 42)
        #expect(actions == [.persist(message), .deliver(message), .ack(room: "r", id: "a", seq: 1, duplicate: false)])
    }

    @Test func timestampsNeverGoBackwards() {
        var room = RoomStateMachine(room: "r")
        _ = committing(&room, user: "u", id: "a", text: "t", now: 1000)
        let second = messages(committing(&room, user: "u", id: "b", text: "t", now: 900))
        #expect(second.first?.ts == 1000)
        let third = messages(committing(&room, user: "u", id: "c", text: "t", now: 1200))
        #expect(third.first?.ts == 1200)
    }

    @Test func retryIsAckedWithOriginalSeqAndDeliversNothing() {
        var room = RoomStateMachine(room: "r")
        _ = committing(&room, user: "u", id: "a", text: "t", now: 1)
        _ = committing(&room, user: "u", id: "b", text: "t", now: 1)
        let retry = committing(&room, user: "u", id: "a", text: "different text", now: 2)
        #expect(retry == [.ack(room: "r", id: "a", seq: 1, duplicate: true)])
        #expect(room.lastSeq == 2)
        // The same id from another user is another message.
        #expect(ack(committing(&room, user: "v", id: "a", text: "t", now: 3))?.seq == 3)
    }

    @Test func idempotencyWindowForgetsOldestIDs() {
        var room = RoomStateMachine(room: "r", configuration: .init(logCapacity: 100, idempotencyWindow: 3))
        for id in ["a", "b", "c", "d"] { _ = committing(&room, user: "u", id: id, text: "t", now: 1) }
        // "a" fell out of the window of 3: it is sequenced again.
        #expect(ack(committing(&room, user: "u", id: "a", text: "t", now: 1)) ?? (0, true) == (5, false))
        // "c" and "d" are still remembered.
        #expect(ack(committing(&room, user: "u", id: "d", text: "t", now: 1)) ?? (0, false) == (4, true))
    }

    @Test func restoredRoomContinuesSeqAndRemembersIDs() {
        let history = (1...10).map { ChatMessage(room: "r", seq: UInt64($0), id: "m\($0)", user: "u", text: "t", ts: Int64($0)) }
        var room = RoomStateMachine(room: "r", restoring: history.shuffled())
        #expect(room.lastSeq == 10)
        #expect(ack(committing(&room, user: "u", id: "m7", text: "t", now: 20)) ?? (0, false) == (7, true))
        let next = messages(committing(&room, user: "u", id: "new", text: "t", now: 5))
        #expect(next.map(\.seq) == [11])
        #expect(next.first?.ts == 10, "ts continues from the restored history's latest ts")
    }

    @Test func restoreKeepsOnlyTheContiguousTail() {
        let seqs: [UInt64] = [1, 2, 3, 7, 8, 9]
        let history = seqs.map { ChatMessage(room: "r", seq: $0, id: "m\($0)", user: "u", text: "t", ts: 0) }
        let room = RoomStateMachine(room: "r", restoring: history)
        #expect(room.lastSeq == 9)
        #expect(room.latest(limit: 10).map(\.seq) == [7, 8, 9])
        #expect(room.messages(since: 2).truncated)
    }

    @Test func logIsCappedAndResumeSaysTruncated() {
        var room = RoomStateMachine(room: "r", configuration: .init(logCapacity: 5))
        for i in 1...12 { _ = committing(&room, user: "u", id: "\(i)", text: "t", now: 0) }
        #expect(room.latest(limit: 50).map(\.seq) == [8, 9, 10, 11, 12])
        let resumeHeld = room.messages(since: 9)
        #expect(resumeHeld.messages.map(\.seq) == [10, 11, 12])
        #expect(!resumeHeld.truncated)
        let resumeEdge = room.messages(since: 7)
        #expect(resumeEdge.messages.map(\.seq) == [8, 9, 10, 11, 12])
        #expect(!resumeEdge.truncated)
        let resumeOld = room.messages(since: 2)
        #expect(resumeOld.messages.map(\.seq) == [8, 9, 10, 11, 12])
        #expect(resumeOld.truncated)
        #expect(room.messages(since: 12).messages.isEmpty)
        #expect(room.messages(since: 99).messages.isEmpty)
        #expect(room.messages(since: 8, limit: 2).messages.map(\.seq) == [9, 10])
    }

    @Test func historyPagesBelowBefore() {
        var room = RoomStateMachine(room: "r")
        for i in 1...30 { _ = committing(&room, user: "u", id: "\(i)", text: "t", now: 0) }
        #expect(room.messages(before: 11, limit: 3).map(\.seq) == [8, 9, 10])
        #expect(room.messages(before: 3, limit: 50).map(\.seq) == [1, 2])
        #expect(room.messages(before: 1, limit: 50).isEmpty)
        #expect(room.messages(before: 1000, limit: 2).map(\.seq) == [29, 30])
        #expect(room.messages(before: nil, limit: 4).map(\.seq) == [27, 28, 29, 30])
    }

    @Test func presenceCountsDistinctUsers() {
        var room = RoomStateMachine(room: "r")
        #expect(room.join(user: "a") == [.presence(PresenceEvent(room: "r", kind: .join, user: "a", members: 1))])
        #expect(room.join(user: "a").isEmpty, "a second session of the same user is not a join")
        #expect(room.join(user: "b") == [.presence(PresenceEvent(room: "r", kind: .join, user: "b", members: 2))])
        #expect(room.memberNames == ["a", "b"])
        #expect(room.leave(user: "a").isEmpty, "one of a's two sessions left")
        #expect(room.leave(user: "a") == [.presence(PresenceEvent(room: "r", kind: .leave, user: "a", members: 1))])
        #expect(room.leave(user: "a").isEmpty, "leaving twice is a no-op")
        #expect(room.leave(user: "nobody").isEmpty)
        #expect(room.memberNames == ["b"])
    }

    /// Thousands of random steps against a simple model: seqs stay contiguous, retries never
    /// create messages, and every accepted (user, id) maps to one seq. Replays from its seed.
    @Test(arguments: [1, 2, 3, 42, 2026] as [UInt64])
    func randomStepsKeepTheInvariants(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var room = RoomStateMachine(room: "r", configuration: .init(logCapacity: 64, idempotencyWindow: 10_000))
        var assigned: [String: UInt64] = [:]
        var delivered: [UInt64] = []
        for _ in 0..<5000 {
            let user = "u\(rng.next() % 5)"
            let id = "m\(rng.next() % 800)"
            let actions = committing(&room, user: user, id: id, text: "t", now: Int64(rng.next() % 1000))
            let key = "\(user)/\(id)"
            guard let ack = ack(actions) else {
                Issue.record("no ack (seed \(seed))")
                return
            }
            if let seq = assigned[key] {
                #expect(ack.seq == seq && ack.duplicate, "seed \(seed)")
                #expect(messages(actions).isEmpty, "seed \(seed)")
            } else {
                assigned[key] = ack.seq
                delivered += messages(actions).map(\.seq)
            }
        }
        #expect(delivered == Array(1...UInt64(delivered.count)), "seed \(seed)")
        #expect(room.latest(limit: 1000).map(\.seq) == Array(delivered.suffix(64)), "seed \(seed)")
    }
}
