import ChatCore

/// One frame a node sent to a client (PROTOCOL.md, "Server to client"), decoded.
///
/// `ref` is the frame's `ref` as text (a numeric ref sent by the client comes back as its decimal
/// text). A frame whose `type` is unknown, or whose fields do not fit its type, is `.other(type:)`;
/// a frame that is not a JSON object at all is `.other(type: "")`.
public enum ServerEvent: Sendable, Hashable {
    case welcome(user: String, node: String, session: String)
    case joined(room: String, ref: String?, seq: UInt64, history: [ReceivedMessage], members: [String], truncated: Bool)
    case message(ReceivedMessage)
    case ack(room: String, id: String, seq: UInt64)
    case left(room: String, ref: String?)
    case history(room: String, ref: String?, messages: [ReceivedMessage])
    case presence(room: String, event: String, user: String, members: Int)
    case pong(ref: String?)
    case error(code: String, message: String, ref: String?, id: String?)
    case other(type: String)

    /// Decodes a text frame's UTF-8 bytes. `message` and `ack` frames, the frequent ones, are read
    /// straight from the parser's tokens (`fastPath`); the others through a `JSONValue`.
    public init(frame bytes: UnsafeRawBufferPointer) {
        if let event = Self.fastPath(bytes) {
            self = event
            return
        }
        guard let json = try? JSONParser.parse(bytes) else {
            self = .other(type: "")
            return
        }
        self.init(json: json)
    }

    /// Decodes a text frame.
    public init(text: String) {
        var text = text
        self = text.withUTF8 { ServerEvent(frame: UnsafeRawBufferPointer($0)) }
    }

    /// Decodes an already parsed frame.
    public init(json: JSONValue) {
        guard let type = json["type"]?.stringValue else {
            self = .other(type: "")
            return
        }
        self = Self.decode(type: type, json) ?? .other(type: type)
    }

    private static func decode(type: String, _ json: JSONValue) -> ServerEvent? {
        let room = json["room"]?.stringValue
        let ref = json["ref"]?.referenceText
        switch type {
        case "message":
            return ReceivedMessage(json: json).map { .message($0) }
        case "ack":
            guard let room, let id = json["id"]?.stringValue, let seq = json["seq"]?.uint64Value else { return nil }
            return .ack(room: room, id: id, seq: seq)
        case "welcome":
            guard let user = json["user"]?.stringValue, let node = json["node"]?.stringValue else { return nil }
            return .welcome(user: user, node: node, session: json["session"]?.referenceText ?? "")
        case "joined":
            guard let room, let seq = json["seq"]?.uint64Value else { return nil }
            let history = (json["history"]?.arrayValue ?? []).compactMap { ReceivedMessage(json: $0, defaultRoom: room) }
            let members = (json["members"]?.arrayValue ?? []).compactMap(\.stringValue)
            let truncated = json["truncated"] == .bool(true)
            return .joined(room: room, ref: ref, seq: seq, history: history, members: members, truncated: truncated)
        case "left":
            guard let room else { return nil }
            return .left(room: room, ref: ref)
        case "history":
            guard let room else { return nil }
            let messages = (json["messages"]?.arrayValue ?? []).compactMap { ReceivedMessage(json: $0, defaultRoom: room) }
            return .history(room: room, ref: ref, messages: messages)
        case "presence":
            guard let room, let event = json["event"]?.stringValue, let user = json["user"]?.stringValue,
                let members = json["members"]?.int64Value
            else { return nil }
            return .presence(room: room, event: event, user: user, members: Int(members))
        case "pong":
            return .pong(ref: ref)
        case "error":
            guard let code = json["code"]?.stringValue else { return nil }
            return .error(code: code, message: json["message"]?.stringValue ?? "", ref: ref, id: json["id"]?.stringValue)
        default:
            return nil
        }
    }
}
