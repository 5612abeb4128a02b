import ChatCore
import Testing

@Suite("Room patterns of a token's rooms claim")
struct RoomPatternTests {
    @Test(arguments: [
        ("lobby", "lobby", true), ("lobby", "lobby2", false), ("team-*", "team-a", true), ("team-*", "team-", true),
        ("team-*", "teams", false), ("*-public", "x-public", true), ("*-public", "x-public-not", false),
        ("*", "anything", true), ("a*b*c", "a-b-c", true), ("a*b*c", "acb", false), ("a*b*c", "abbc", true),
        ("*a*", "banana", true), ("ab*ab", "ab", false), ("ab*ab", "abab", true),
    ])
    func matches(pattern: String, room: String, expected: Bool) {
        #expect(RoomPattern(pattern).matches(room) == expected)
    }
}
