import ChatCore
import Foundation
import Testing

@Suite("ServerFrame encoding")
struct ServerFrameTests {
    func parse(_ frame: ServerFrame) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(frame.bytes))
        return try #require(object as? [String: Any])
    }

    @Test func messageFrameRoundTripsAnyText() throws {
        let text = "quote \" backslash \\ newline \n tab \t bell \u{07} nul \u{0} emoji 🎉 line-sep \u{2028} <b>html</b>"
        let message = ChatMessage(room: "r", seq: 12, id: "id\"1", user: "ü", text: text, ts: 1_700_000_000_123)
        let object = try parse(.message(message))
        #expect(object["type"] as? String == "message")
        #expect(object["text"] as? String == text)
        #expect(object["id"] as? String == "id\"1")
        #expect(object["user"] as? String == "ü")
        #expect((object["seq"] as? NSNumber)?.intValue == 12)
        #expect((object["ts"] as? NSNumber)?.int64Value == 1_700_000_000_123)
        let decoded = try JSONDecoder().decode(ChatMessage.self, from: Data(message.json.utf8))
        #expect(decoded == message)
    }

    @Test func joinedFrameCarriesHistoryMembersAndTruncated() throws {
        let message = ChatMessage(room: "r", seq: 1, id: "a", user: "u", text: "t", ts: 1)
        let object = try parse(.joined(room: "r", ref: .int(5), seq: 1, history: [message], members: ["a", "b"], truncated: true))
        #expect(object["type"] as? String == "joined")
        #expect((object["ref"] as? NSNumber)?.intValue == 5)
        #expect((object["history"] as? [Any])?.count == 1)
        #expect(object["members"] as? [String] == ["a", "b"])
        #expect(object["truncated"] as? Bool == true)
        let plain = try parse(.joined(room: "r", ref: nil, seq: 0, history: [], members: [], truncated: false))
        #expect(plain["truncated"] == nil)
        #expect(plain["ref"] == nil)
    }

    @Test func errorFrameNamesCodeAndWhatItAnswers() throws {
        let object = try parse(.error(ProtocolError(.rateLimited, "slow down", id: "m1")))
        #expect(object["code"] as? String == "rate_limited")
        #expect(object["id"] as? String == "m1")
        let withRef = try parse(.error(ProtocolError(.badRequest, "x", ref: .string("r1"))))
        #expect(withRef["ref"] as? String == "r1")
    }

    @Test func presenceFrame() throws {
        let object = try parse(.presence(PresenceEvent(room: "r", kind: .leave, user: "bob", members: 3)))
        #expect(object["event"] as? String == "leave")
        #expect((object["members"] as? NSNumber)?.intValue == 3)
    }
}
