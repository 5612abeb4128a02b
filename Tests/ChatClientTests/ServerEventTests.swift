import ChatClient
import ChatCore
import Testing

/// Every server frame type, encoded by ChatCore's `ServerFrame` (the node's own encoder) and
/// decoded by the client.
@Suite struct ServerEventTests {
    let message = ChatMessage(room: "lobby", seq: 7, id: "m-1", user: "alice", text: "hi \"there\"\n\u{1F600}", ts: 1_700_000_000_123)
    var received: ReceivedMessage {
        ReceivedMessage(room: "lobby", seq: 7, id: "m-1", user: "alice", text: "hi \"there\"\n\u{1F600}", ts: 1_700_000_000_123)
    }

    func decode(_ frame: ServerFrame) -> ServerEvent {
        ServerEvent(text: frame.json)
    }

    @Test func welcome() {
        #expect(decode(.welcome(user: "alice", node: "n2", session: "s-9")) == .welcome(user: "alice", node: "n2", session: "s-9"))
    }

    @Test func joinedWithHistoryMembersAndTruncation() {
        let frame = ServerFrame.joined(
            room: "lobby", ref: .string("j1"), seq: 7, history: [message], members: ["alice", "bob"], truncated: true)
        #expect(
            decode(frame)
                == .joined(room: "lobby", ref: "j1", seq: 7, history: [received], members: ["alice", "bob"], truncated: true))
        let plain = ServerFrame.joined(room: "lobby", ref: nil, seq: 0, history: [], members: [], truncated: false)
        #expect(decode(plain) == .joined(room: "lobby", ref: nil, seq: 0, history: [], members: [], truncated: false))
    }

    @Test func messageAndAck() {
        #expect(decode(.message(message)) == .message(received))
        #expect(decode(.ack(room: "lobby", id: "m-1", seq: 7)) == .ack(room: "lobby", id: "m-1", seq: 7))
    }

    @Test func leftHistoryPong() {
        #expect(decode(.left(room: "lobby", ref: .int(4))) == .left(room: "lobby", ref: "4"))
        #expect(decode(.history(room: "lobby", ref: nil, messages: [message])) == .history(room: "lobby", ref: nil, messages: [received]))
        #expect(decode(.pong(ref: .string("p"))) == .pong(ref: "p"))
        #expect(decode(.pong(ref: nil)) == .pong(ref: nil))
    }

    @Test func presence() {
        let event = PresenceEvent(room: "lobby", kind: .leave, user: "bob", members: 3)
        #expect(decode(.presence(event)) == .presence(room: "lobby", event: "leave", user: "bob", members: 3))
    }

    @Test func errors() {
        let withID = ProtocolError(.rateLimited, "slow down", id: "m-2")
        #expect(decode(.error(withID)) == .error(code: "rate_limited", message: "slow down", ref: nil, id: "m-2"))
        let withRef = ProtocolError(.badRequest, "limit", ref: .string("h1"))
        #expect(decode(.error(withRef)) == .error(code: "bad_request", message: "limit", ref: "h1", id: nil))
    }

    @Test func unknownAndMalformedFrames() {
        #expect(ServerEvent(text: #"{"type":"future","x":1}"#) == .other(type: "future"))
        #expect(ServerEvent(text: #"{"type":"ack","room":"r"}"#) == .other(type: "ack"))
        #expect(ServerEvent(text: "not json") == .other(type: ""))
        #expect(ServerEvent(text: "[1,2]") == .other(type: ""))
    }

    @Test func decodesFromRawBytes() {
        let bytes = ServerFrame.ack(room: "r", id: "i", seq: 3).bytes
        let event = bytes.withUnsafeBytes { ServerEvent(frame: $0) }
        #expect(event == .ack(room: "r", id: "i", seq: 3))
    }
}
