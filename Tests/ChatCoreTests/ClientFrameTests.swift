import ChatCore
import Testing

@Suite("ClientFrame decoding")
struct ClientFrameTests {
    let limits = ChatLimits()

    func decode(_ text: String) -> Result<ClientFrame, ProtocolError> {
        ClientFrame.decode(text, limits: limits)
    }

    func error(_ text: String) -> ProtocolError? {
        if case .failure(let error) = decode(text) { return error }
        return nil
    }

    @Test func decodesEveryFrameType() throws {
        #expect(try decode(#"{"type":"hello","user":"alice"}"#).get() == .hello(user: "alice", token: nil))
        #expect(try decode(#"{"type":"hello","user":"alice","token":"t"}"#).get() == .hello(user: "alice", token: "t"))
        #expect(
            try decode(#"{"type":"join","room":"a.b_c-1","since":7,"ref":"x"}"#).get()
                == .join(room: "a.b_c-1", since: 7, ref: .string("x")))
        #expect(try decode(#"{"type":"join","room":"r"}"#).get() == .join(room: "r", since: nil, ref: nil))
        #expect(try decode(#"{"type":"send","room":"r","id":"1","text":"hi","extra":true}"#).get() == .send(room: "r", id: "1", text: "hi"))
        #expect(try decode(#"{"type":"leave","room":"r","ref":3}"#).get() == .leave(room: "r", ref: .int(3)))
        #expect(try decode(#"{"type":"history","room":"r"}"#).get() == .history(room: "r", before: nil, limit: 50, ref: nil))
        #expect(
            try decode(#"{"type":"history","room":"r","before":10,"limit":200}"#).get()
                == .history(room: "r", before: 10, limit: 200, ref: nil))
        #expect(try decode(#"{"type":"ping"}"#).get() == .ping(ref: nil))
    }

    @Test(arguments: [
        ("not json", "valid JSON"),
        ("[1,2]", "JSON object"),
        (#"{"user":"a"}"#, "'type'"),
        (#"{"type":5}"#, "'type'"),
        (#"{"type":"dance"}"#, "unknown frame type"),
        (#"{"type":"hello"}"#, "'user'"),
        (#"{"type":"hello","user":""}"#, "user"),
        (#"{"type":"hello","user":"abcdefghijklmnopqrstuvwxyz0123456"}"#, "user"),
        (#"{"type":"hello","user":"a\u0007b"}"#, "user"),
        (#"{"type":"join"}"#, "'room'"),
        (#"{"type":"join","room":"has space"}"#, "room"),
        (#"{"type":"join","room":""}"#, "room"),
        (#"{"type":"join","room":"r","since":"abc"}"#, "'since'"),
        (#"{"type":"join","room":"r","since":-1}"#, "'since'"),
        (#"{"type":"join","room":"r","since":1.5}"#, "'since'"),
        (#"{"type":"send","room":"r","text":"x"}"#, "'id'"),
        (#"{"type":"send","room":"r","id":"1"}"#, "'text'"),
        (#"{"type":"send","room":"r","id":"1","text":""}"#, "text"),
        (#"{"type":"send","room":"r","id":"","text":"x"}"#, "id"),
        (#"{"type":"history","room":"r","limit":0}"#, "'limit'"),
        (#"{"type":"history","room":"r","limit":201}"#, "'limit'"),
        (#"{"type":"history","room":"r","before":0}"#, "'before'"),
    ])
    func badInputIsBadRequest(input: String, mentions: String) throws {
        let error = try #require(self.error(input))
        #expect(error.code == .badRequest)
        #expect(error.message.contains(mentions), "\(error.message)")
    }

    @Test func roomOf65CharactersIsRefused() {
        #expect(error(#"{"type":"join","room":"\#(String(repeating: "a", count: 65))"}"#)?.code == .badRequest)
        #expect((try? decode(#"{"type":"join","room":"\#(String(repeating: "a", count: 64))"}"#).get()) != nil)
    }

    @Test func errorsCarryRefOrID() {
        #expect(error(#"{"type":"history","room":"r","limit":0,"ref":"q1"}"#)?.ref == .string("q1"))
        #expect(error(#"{"type":"join","room":"bad room","ref":9}"#)?.ref == .int(9))
        #expect(error(#"{"type":"send","room":"bad room","id":"m1","text":"x"}"#)?.id == "m1")
    }

    @Test func textOverTheLimitIsTooLargeWithID() {
        let long = String(repeating: "é", count: 4001)
        let error = error(#"{"type":"send","room":"r","id":"m9","text":"\#(long)"}"#)
        #expect(error?.code == .tooLarge)
        #expect(error?.id == "m9")
        let exact = String(repeating: "é", count: 4000)
        #expect((try? decode(#"{"type":"send","room":"r","id":"m9","text":"\#(exact)"}"#).get()) != nil)
    }

    @Test func httpSendBody() throws {
        #expect(try HTTPSend.decode(#"{"user":"a","id":"1","text":"x"}"#, limits: limits).get() == HTTPSend(user: "a", id: "1", text: "x"))
        guard case .failure(let missing) = HTTPSend.decode(#"{"user":"a","text":"x"}"#, limits: limits) else {
            Issue.record("missing id accepted")
            return
        }
        #expect(missing.code == .badRequest)
        guard
            case .failure(let long) = HTTPSend.decode(
                #"{"user":"a","id":"1","text":"\#(String(repeating: "x", count: 4001))"}"#, limits: limits)
        else {
            Issue.record("long text accepted")
            return
        }
        #expect(long.code == .tooLarge)
    }
}
