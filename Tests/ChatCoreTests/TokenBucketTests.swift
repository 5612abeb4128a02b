import ChatCore
import Testing

@Suite("TokenBucket and names")
struct TokenBucketTests {
    @Test func burstThenSustainedRate() {
        var bucket = TokenBucket(rate: 10, burst: 3, now: 0)
        #expect((0..<5).map { _ in bucket.take(now: 0) } == [true, true, true, false, false])
        // 100 ms at 10/s refills one token.
        let refilled = bucket.take(now: 100_000_000)
        let again = bucket.take(now: 100_000_000)
        #expect(refilled)
        #expect(!again)
        // A long pause refills only up to the burst.
        #expect((0..<4).map { _ in bucket.take(now: 60_000_000_000) } == [true, true, true, false])
    }

    @Test func roomAndUserRules() {
        #expect(Validation.isValidRoom("Lobby-1.2_x"))
        #expect(!Validation.isValidRoom("with space"))
        #expect(!Validation.isValidRoom("ümlaut"))
        #expect(!Validation.isValidRoom(""))
        #expect(Validation.isValidUser("Zoë 🎉"))
        #expect(!Validation.isValidUser("tab\there"))
        #expect(Validation.isValidUser(String(repeating: "x", count: 32)))
        #expect(!Validation.isValidUser(String(repeating: "x", count: 33)))
    }
}
