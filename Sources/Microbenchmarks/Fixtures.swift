import ChatCore

/// The shared inputs: a room, users, 64-byte texts, client message ids, and a typical message.
enum Fixtures {
    static let room = "general"
    static let users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]

    /// 64 bytes of plain ASCII text (nothing to escape in JSON).
    static let text64: String = {
        let source = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 2)
        let text = String(decoding: Array(source.utf8.prefix(64)), as: UTF8.self)
        precondition(text.utf8.count == 64)
        return text
    }()

    /// A client message id shaped like a UUID (36 characters), distinct for every `index` below
    /// 10^12: long enough that Swift stores it on the heap, as ids decoded from frames are.
    static func messageID(_ index: Int) -> String {
        let digits = String(index)
        return "0b4f7a2e-3c1d-4e5f-8a9b-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }

    /// A sequenced message as the owner makes it: 64-byte text, a 36-character id.
    static func message(seq: UInt64 = 1_234) -> ChatMessage {
        ChatMessage(room: room, seq: seq, id: messageID(Int(seq)), user: users[0], text: text64, ts: 1_760_000_000_000)
    }
}
