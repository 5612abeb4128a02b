/// The frames a node sends to WebSocket clients (PROTOCOL.md, "Server to client"), encoded as
/// JSON text. Encoding is a pure function of the frame, so a `message` frame is encoded once and
/// the same bytes are written to every socket that receives it.
public enum ServerFrame: Sendable {
    case welcome(user: String, node: String, session: String)
    case joined(room: String, ref: JSONValue?, seq: UInt64, history: [ChatMessage], members: [String], truncated: Bool)
    case ack(room: String, id: String, seq: UInt64)
    case left(room: String, ref: JSONValue?)
    case history(room: String, ref: JSONValue?, messages: [ChatMessage])
    case pong(ref: JSONValue?)
    case message(ChatMessage)
    case presence(PresenceEvent)
    case error(ProtocolError)

    /// The frame as JSON text.
    public var json: String {
        var writer = JSONWriter()
        write(into: &writer)
        return writer.text
    }

    /// The frame as UTF-8 bytes.
    public var bytes: [UInt8] {
        var writer = JSONWriter()
        write(into: &writer)
        return writer.bytes
    }

    public func write(into writer: inout JSONWriter) {
        writer.object { object in
            switch self {
            case .welcome(let user, let node, let session):
                object.field("type", "welcome")
                object.field("user", user)
                object.field("node", node)
                object.field("session", session)
            case .joined(let room, let ref, let seq, let history, let members, let truncated):
                object.field("type", "joined")
                object.field("room", room)
                if let ref { object.field("ref", json: ref) }
                object.field("seq", seq)
                object.array("history", history) { $1.writeFields(into: &$0) }
                object.array("members", members) { $0.string($1) }
                if truncated { object.field("truncated", true) }
            case .ack(let room, let id, let seq):
                object.field("type", "ack")
                object.field("room", room)
                object.field("id", id)
                object.field("seq", seq)
            case .left(let room, let ref):
                object.field("type", "left")
                object.field("room", room)
                if let ref { object.field("ref", json: ref) }
            case .history(let room, let ref, let messages):
                object.field("type", "history")
                object.field("room", room)
                if let ref { object.field("ref", json: ref) }
                object.array("messages", messages) { $1.writeFields(into: &$0) }
            case .pong(let ref):
                object.field("type", "pong")
                if let ref { object.field("ref", json: ref) }
            case .message(let message):
                object.field("type", "message")
                message.fields(into: &object)
            case .presence(let event):
                object.field("type", "presence")
                object.field("room", event.room)
                object.field("event", event.kind.rawValue)
                object.field("user", event.user)
                object.field("members", event.members)
            case .error(let error):
                object.field("type", "error")
                object.field("code", error.code.rawValue)
                object.field("message", error.message)
                if let ref = error.ref { object.field("ref", json: ref) }
                if let id = error.id { object.field("id", id) }
            }
        }
    }
}

extension ChatMessage {
    /// Writes the message's fields (room, seq, id, user, text, ts) into an open object.
    public func fields(into object: inout JSONWriter.ObjectWriter) {
        object.field("room", room)
        object.field("seq", seq)
        object.field("id", id)
        object.field("user", user)
        object.field("text", text)
        object.field("ts", ts)
    }

    /// Writes the message as a JSON object `{room, seq, id, user, text, ts}`: the form it has in
    /// `joined.history`, `history.messages`, the HTTP routes and the history cache.
    public func writeFields(into writer: inout JSONWriter) {
        writer.object { fields(into: &$0) }
    }

    /// The message as a JSON object, as stored in the history cache.
    public var json: String {
        var writer = JSONWriter(capacity: 64 + text.utf8.count)
        writeFields(into: &writer)
        return writer.text
    }
}
