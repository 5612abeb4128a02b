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
        // bytes as well as characters: one character of 16 KB is not a name
        #expect(!Validation.isValidUser("a" + String(repeating: "\u{301}", count: 8000)))
        #expect(Validation.isValidUser(String(repeating: "€", count: 32)))  // 96 bytes
        #expect(Validation.isValidUser(String(repeating: "😀", count: 32)))  // 32 × 4 = 128 bytes: the cap
        #expect(!Validation.isValidUser(String(repeating: "🇫🇷", count: 17)))  // 17 characters, 136 bytes
        // format characters: bidi overrides, zero-width characters, soft hyphens
        for refused in ["e\u{202E}vil", "zero\u{200B}width", "bom\u{FEFF}", "soft\u{AD}hyphen"] {
            #expect(!Validation.isValidUser(refused), "\(refused.unicodeScalars.map(\.value))")
        }
        #expect(Validation.normalizedUser("Zoe\u{308}") == "Zo\u{EB}")
        #expect(Validation.normalizedUser("Zo\u{EB}") == "Zo\u{EB}")
        #expect(Validation.normalizedUser("zero\u{200B}width") == nil)
        #expect(Validation.isValidMessageID(String(repeating: "語", count: 42)))  // 126 bytes
        #expect(!Validation.isValidMessageID(String(repeating: "語", count: 43)))  // 129 bytes
    }
}
