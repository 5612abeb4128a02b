import ChatCore

/// One chat message as a client received it (a `message` frame, or an entry of `joined.history` /
/// `history.messages` / the HTTP messages route).
public struct ReceivedMessage: Sendable, Hashable {
    public var room: String
    public var seq: UInt64
    public var id: String
    public var user: String
    public var text: String
    public var ts: Int64

    public init(room: String, seq: UInt64, id: String, user: String, text: String, ts: Int64) {
        self.room = room
        self.seq = seq
        self.id = id
        self.user = user
        self.text = text
        self.ts = ts
    }

    /// Reads a message object `{room, seq, id, user, text, ts}`; nil when a field is missing or
    /// has the wrong type. `room` falls back to `defaultRoom` when absent.
    public init?(json: JSONValue, defaultRoom: String? = nil) {
        self.init(
            room: json["room"], seq: json["seq"], id: json["id"], user: json["user"], text: json["text"], ts: json["ts"],
            defaultRoom: defaultRoom)
    }

    /// The rules of `init?(json:defaultRoom:)` over the fields' values (nil: absent), shared with
    /// the fast path of `ServerEvent(frame:)`.
    init?(
        room: JSONValue?, seq: JSONValue?, id: JSONValue?, user: JSONValue?, text: JSONValue?, ts: JSONValue?,
        defaultRoom: String? = nil
    ) {
        guard let room = room?.stringValue ?? defaultRoom,
            let seq = seq?.uint64Value,
            let id = id?.stringValue,
            let user = user?.stringValue
        else { return nil }
        self.init(room: room, seq: seq, id: id, user: user, text: text?.stringValue ?? "", ts: ts?.int64Value ?? 0)
    }
}

extension JSONValue {
    /// A `ref` as the server echoes it (string or number), as text.
    public var referenceText: String? {
        switch self {
        case .string(let value): return value
        case .int(let value): return String(value)
        case .double(let value): return String(value)
        case .bool(let value): return String(value)
        default: return nil
        }
    }
}
