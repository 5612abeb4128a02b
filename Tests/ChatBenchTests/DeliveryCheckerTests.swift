import Testing

@testable import ChatBench

/// One room of three members (connections 0, 1, 2), one sender (connection 0).
private func oneRoom() throws -> (RunShape, DeliveryChecker) {
    let shape = try RunShape(rooms: 1, members: 3, sendersPerRoom: 1, endpointCount: 1)
    var checker = DeliveryChecker(shape: shape)
    for connection in 0..<3 { checker.joined(connection: connection, room: 0, seq: 10) }
    return (shape, checker)
}

/// Sends messages 0..<count from sender 0, acked with seqs 11, 12, ...
private func sendAndAck(_ checker: inout DeliveryChecker, count: Int) {
    for counter in 0..<count {
        checker.sent(sender: 0, counter: counter)
        checker.acked(sender: 0, counter: counter, seq: UInt64(11 + counter))
    }
}

@Suite("DeliveryChecker")
struct DeliveryCheckerTests {
    @Test("a complete, ordered run is clean")
    func clean() throws {
        var (_, checker) = try oneRoom()
        sendAndAck(&checker, count: 3)
        for connection in 0..<3 {
            for counter in 0..<3 {
                do {
                    let fresh = checker.delivered(connection: connection, seq: UInt64(11 + counter), sender: 0, counter: counter)
                    #expect(fresh)
                }
            }
        }
        let verdict = checker.verdict()
        #expect(verdict.isClean)
        #expect(verdict.sent == 3 && verdict.acked == 3)
        #expect(verdict.expectedDeliveries == 9 && verdict.delivered == 9)
    }

    @Test("a message dropped for one receiver is lost")
    func dropped() throws {
        var (_, checker) = try oneRoom()
        sendAndAck(&checker, count: 2)
        for connection in 0..<3 {
            _ = checker.delivered(connection: connection, seq: 11, sender: 0, counter: 0)
            if connection != 2 { _ = checker.delivered(connection: connection, seq: 12, sender: 0, counter: 1) }
        }
        let verdict = checker.verdict()
        #expect(verdict.lost == 1)
        #expect(!verdict.isClean)
        #expect(verdict.duplicates == 0 && verdict.outOfOrder == 0)
    }

    @Test("a message delivered twice to a receiver is a duplicate, and does not hide a loss elsewhere")
    func duplicated() throws {
        var (_, checker) = try oneRoom()
        sendAndAck(&checker, count: 1)
        do {
            let fresh = checker.delivered(connection: 0, seq: 11, sender: 0, counter: 0)
            #expect(fresh)
        }
        do {
            let fresh = checker.delivered(connection: 1, seq: 11, sender: 0, counter: 0)
            #expect(fresh)
        }
        do {
            let fresh = checker.delivered(connection: 1, seq: 11, sender: 0, counter: 0)
            #expect(!fresh)
        }
        let verdict = checker.verdict()
        #expect(verdict.duplicates == 1)
        #expect(verdict.lost == 1)  // connection 2 never got it
    }

    @Test("seqs arriving below the highest seen are out of order")
    func reordered() throws {
        var (_, checker) = try oneRoom()
        sendAndAck(&checker, count: 2)
        for connection in 0..<3 {
            if connection == 1 {
                _ = checker.delivered(connection: connection, seq: 12, sender: 0, counter: 1)
                _ = checker.delivered(connection: connection, seq: 11, sender: 0, counter: 0)
            } else {
                _ = checker.delivered(connection: connection, seq: 11, sender: 0, counter: 0)
                _ = checker.delivered(connection: connection, seq: 12, sender: 0, counter: 1)
            }
        }
        let verdict = checker.verdict()
        #expect(verdict.outOfOrder == 1)
        #expect(verdict.lost == 0 && verdict.duplicates == 0)
        #expect(!verdict.isClean)
    }

    @Test("a seq at or below the join seq is out of order")
    func beforeJoin() throws {
        var (_, checker) = try oneRoom()
        sendAndAck(&checker, count: 1)
        do {
            let fresh = checker.delivered(connection: 0, seq: 10, sender: 0, counter: 0)
            #expect(!fresh)
        }
        #expect(checker.verdict().outOfOrder == 1)
    }

    @Test("one message under two seqs is inconsistent")
    func inconsistent() throws {
        var (_, checker) = try oneRoom()
        sendAndAck(&checker, count: 1)
        _ = checker.delivered(connection: 0, seq: 11, sender: 0, counter: 0)
        _ = checker.delivered(connection: 1, seq: 12, sender: 0, counter: 0)
        _ = checker.delivered(connection: 2, seq: 11, sender: 0, counter: 0)
        #expect(checker.verdict().inconsistent == 1)
    }

    @Test("an ack with another seq than the deliveries is inconsistent")
    func ackMismatch() throws {
        var (_, checker) = try oneRoom()
        checker.sent(sender: 0, counter: 0)
        checker.acked(sender: 0, counter: 0, seq: 13)
        for connection in 0..<3 { _ = checker.delivered(connection: connection, seq: 11, sender: 0, counter: 0) }
        #expect(checker.verdict().inconsistent == 1)
    }

    @Test("a sent message never acked is unacked, not lost")
    func unacked() throws {
        var (_, checker) = try oneRoom()
        checker.sent(sender: 0, counter: 0)
        let verdict = checker.verdict()
        #expect(verdict.unacked == 1 && verdict.lost == 0 && verdict.expectedDeliveries == 0)
        #expect(!verdict.isClean)
    }

    @Test("messages that are not ours are unexpected")
    func unexpected() throws {
        var (_, checker) = try oneRoom()
        do {
            let fresh = checker.delivered(connection: 0, seq: 11, sender: 7, counter: 0)
            #expect(!fresh)
        }
        do {
            let fresh = checker.delivered(connection: 9, seq: 11, sender: 0, counter: 0)
            #expect(!fresh)
        }
        checker.unexpectedMessage()
        #expect(checker.verdict().unexpected == 3)
    }

    @Test("checkers of two loops merge into the same verdict as one checker")
    func merge() throws {
        let shape = try RunShape(rooms: 1, members: 3, sendersPerRoom: 1, endpointCount: 1)
        var loopA = DeliveryChecker(shape: shape)
        var loopB = DeliveryChecker(shape: shape)
        loopA.joined(connection: 0, room: 0, seq: 0)
        loopB.joined(connection: 1, room: 0, seq: 0)
        loopB.joined(connection: 2, room: 0, seq: 0)
        for counter in 0..<4 {
            loopA.sent(sender: 0, counter: counter)
            loopA.acked(sender: 0, counter: counter, seq: UInt64(counter + 1))
            _ = loopA.delivered(connection: 0, seq: UInt64(counter + 1), sender: 0, counter: counter)
            _ = loopB.delivered(connection: 1, seq: UInt64(counter + 1), sender: 0, counter: counter)
            if counter != 3 { _ = loopB.delivered(connection: 2, seq: UInt64(counter + 1), sender: 0, counter: counter) }
        }
        var merged = loopA
        merged.merge(loopB)
        let verdict = merged.verdict()
        #expect(verdict.acked == 4 && verdict.expectedDeliveries == 12 && verdict.delivered == 11)
        #expect(verdict.lost == 1)

        // A seq that differs between loops is caught at the merge.
        var loopC = DeliveryChecker(shape: shape)
        loopC.joined(connection: 1, room: 0, seq: 0)
        _ = loopC.delivered(connection: 1, seq: 9, sender: 0, counter: 0)
        var again = loopA
        again.merge(loopC)
        #expect(again.verdict().inconsistent >= 1)
    }
}

@Suite("SeqSet")
struct SeqSetTests {
    @Test("inserts once, refuses seqs at or below its base")
    func insert() {
        var set = SeqSet(base: 5)
        do {
            let result = set.insert(5)
            #expect(result == .outOfRange)
        }
        do {
            let result = set.insert(6)
            #expect(result == .inserted)
        }
        do {
            let result = set.insert(200)
            #expect(result == .inserted)
        }
        do {
            let result = set.insert(200)
            #expect(result == .alreadyPresent)
        }
        #expect(set.contains(6) && set.contains(200) && !set.contains(7))
        #expect(set.count == 2)
        do {
            let result = set.insert(5 + SeqSet.maximumSpan + 1)
            #expect(result == .outOfRange)
        }
    }
}
