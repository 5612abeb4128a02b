import ChatClient
import ChatCore
import Testing

/// The frames the client sends are the JSON PROTOCOL.md describes, and ChatCore's own decoder
/// (the node's) accepts them.
@Suite struct ClientFramesTests {
    func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try JSONValue(parsing: String(decoding: bytes, as: UTF8.self))
    }

    func nodeDecodes(_ bytes: [UInt8]) -> ClientFrame? {
        try? ClientFrame.decode(String(decoding: bytes, as: UTF8.self), limits: ChatLimits()).get()
    }

    @Test func hello() throws {
        #expect(try parse(ClientFrames.hello(user: "a\"b", token: nil)) == .object(["type": .string("hello"), "user": .string("a\"b")]))
        #expect(try parse(ClientFrames.hello(user: "a", token: "t"))["token"] == .string("t"))
        #expect(nodeDecodes(ClientFrames.hello(user: "alice", token: nil)) != nil)
    }

    @Test func joinWithAndWithoutSince() throws {
        let full = try parse(ClientFrames.join(room: "r1", since: 42, ref: "j"))
        #expect(full == .object(["type": .string("join"), "room": .string("r1"), "since": .int(42), "ref": .string("j")]))
        let bare = try parse(ClientFrames.join(room: "r1", since: nil, ref: nil))
        #expect(bare == .object(["type": .string("join"), "room": .string("r1")]))
        #expect(nodeDecodes(ClientFrames.join(room: "r1", since: 3, ref: "j")) != nil)
    }

    @Test func sendLeaveHistoryPing() throws {
        let send = try parse(ClientFrames.send(room: "r", id: "m1", text: "line\nnext"))
        #expect(send == .object(["type": .string("send"), "room": .string("r"), "id": .string("m1"), "text": .string("line\nnext")]))
        #expect(try parse(ClientFrames.leave(room: "r", ref: "x"))["ref"] == .string("x"))
        let history = try parse(ClientFrames.history(room: "r", before: 10, limit: 5, ref: nil))
        #expect(history == .object(["type": .string("history"), "room": .string("r"), "before": .int(10), "limit": .int(5)]))
        #expect(try parse(ClientFrames.ping(ref: nil)) == .object(["type": .string("ping")]))
        for frame in [
            ClientFrames.send(room: "r", id: "m1", text: "t"), ClientFrames.leave(room: "r", ref: nil),
            ClientFrames.history(room: "r", before: nil, limit: 5, ref: "h"), ClientFrames.ping(ref: "p"),
        ] {
            #expect(nodeDecodes(frame) != nil)
        }
    }
}
