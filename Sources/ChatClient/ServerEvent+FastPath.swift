import ChatCore

extension ServerEvent {
    /// The frequent frames without a `JSONValue` or dictionary: when the frame's first key is
    /// `type` (a node always writes it first) and its value is `message` or `ack`, the fields are
    /// read straight from the parser, with the same rules as `init(json:)` (the first of repeated
    /// keys wins, as in `JSONValue`). Nil means "use the general path": another type, `type` not
    /// first, or malformed JSON (which the general path then reports as `.other(type: "")`).
    static func fastPath(_ bytes: UnsafeRawBufferPointer) -> ServerEvent? {
        var parser = JSONParser(bytes: bytes)
        do {
            try parser.beginObject()
            guard let first = try parser.nextKey(), first.matches("type"), case .string(let type) = try parser.readValue()
            else { return nil }
            let isMessage = type == "message"
            guard isMessage || type == "ack" else { return nil }
            var fields = MessageFields()
            while let key = try parser.nextKey() { try fields.read(key, from: &parser) }
            try parser.finish()
            if isMessage {
                let message = ReceivedMessage(
                    room: fields.room, seq: fields.seq, id: fields.id, user: fields.user, text: fields.text, ts: fields.ts)
                return message.map { .message($0) } ?? .other(type: type)
            }
            guard let room = fields.room?.stringValue, let id = fields.id?.stringValue, let seq = fields.seq?.uint64Value else {
                return .other(type: type)
            }
            return .ack(room: room, id: id, seq: seq)
        } catch {
            return nil
        }
    }

    /// The fields of a `message` or `ack` frame (nil: absent).
    struct MessageFields {
        var room: JSONValue?
        var seq: JSONValue?
        var id: JSONValue?
        var user: JSONValue?
        var text: JSONValue?
        var ts: JSONValue?

        mutating func read(_ key: JSONKey, from parser: inout JSONParser) throws(JSONParseError) {
            if key.matches("room") {
                try parser.readFirstValue(into: &room)
            } else if key.matches("seq") {
                try parser.readFirstValue(into: &seq)
            } else if key.matches("id") {
                try parser.readFirstValue(into: &id)
            } else if key.matches("user") {
                try parser.readFirstValue(into: &user)
            } else if key.matches("text") {
                try parser.readFirstValue(into: &text)
            } else if key.matches("ts") {
                try parser.readFirstValue(into: &ts)
            } else {
                try parser.skipValue()
            }
        }

    }
}
