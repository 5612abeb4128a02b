import Testing

@testable import ChatBench

@Suite("BenchText")
struct BenchTextTests {
    @Test("message ids round-trip")
    func ids() {
        let id = BenchText.messageID(sender: 17, counter: 123_456)
        #expect(id == "m17.123456")
        let parsed = BenchText.parseMessageID(id)
        #expect(parsed?.sender == 17 && parsed?.counter == 123_456)
    }

    @Test("foreign ids are refused", arguments: ["", "m", "m1", "m1.", "m.1", "x1.2", "m1.2.3", "m1.2x", "m99999999999999999999.1"])
    func foreignIDs(_ id: String) {
        #expect(BenchText.parseMessageID(id) == nil)
    }

    @Test("texts have exactly the requested length and carry their send time")
    func texts() {
        for length in [BenchText.minimumTextBytes, 64, 1000] {
            let text = BenchText.text(sentAt: UInt64.max, length: length)
            #expect(text.utf8.count == length)
            #expect(BenchText.parseSendTime(text) == UInt64.max)
        }
        #expect(BenchText.parseSendTime(BenchText.text(sentAt: 42, length: 64)) == 42)
    }

    @Test("texts not written by the benchmark have no send time", arguments: ["", "T", "T;", "T12", "hello", "t12;", "T1a;"])
    func foreignTexts(_ text: String) {
        #expect(BenchText.parseSendTime(text) == nil)
    }
}

@Suite("RateSchedule")
struct RateScheduleTests {
    @Test("a second at 200 sends/s over 20 senders is 10 sends each, evenly staggered")
    func counts() throws {
        let schedule = try RateSchedule(totalRate: 200, senderCount: 20)
        let second: UInt64 = 1_000_000_000
        for sender in 0..<20 { #expect(schedule.totalCount(sender: sender, duration: second) == 10) }
        #expect(schedule.dueTime(sender: 0, index: 0) == 0)
        #expect(schedule.dueTime(sender: 1, index: 0) == 5_000_000)
        #expect(schedule.dueTime(sender: 0, index: 1) == 100_000_000)
    }

    @Test("dueCount agrees with dueTime at and around every due time")
    func consistent() throws {
        let schedule = try RateSchedule(totalRate: 333, senderCount: 7)
        for sender in 0..<7 {
            for index in 0..<50 {
                let due = schedule.dueTime(sender: sender, index: index)
                #expect(schedule.dueCount(sender: sender, elapsed: due) == index + 1)
                if due > 0 { #expect(schedule.dueCount(sender: sender, elapsed: due - 1) == index) }
            }
        }
    }

    @Test("the totals over all senders match the rate", arguments: [1.0, 7.5, 200, 12_345])
    func totals(rate: Double) throws {
        let schedule = try RateSchedule(totalRate: rate, senderCount: 20)
        let duration: UInt64 = 10_000_000_000
        let total = (0..<20).reduce(0) { $0 + schedule.totalCount(sender: $1, duration: duration) }
        #expect(abs(Double(total) - rate * 10) <= 1)
    }

    @Test("a non-positive rate is refused")
    func refused() {
        #expect(throws: BenchError.self) { try RateSchedule(totalRate: 0, senderCount: 1) }
        #expect(throws: BenchError.self) { try RateSchedule(totalRate: 10, senderCount: 0) }
    }
}
