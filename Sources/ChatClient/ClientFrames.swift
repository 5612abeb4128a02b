import ChatCore

/// Builds the JSON text of the frames a client sends (PROTOCOL.md, "Client to server").
/// Optional fields are left out when nil.
public enum ClientFrames {
    public static func hello(user: String, token: String?) -> [UInt8] {
        build { object in
            object.field("type", "hello")
            object.field("user", user)
            if let token { object.field("token", token) }
        }
    }

    public static func join(room: String, since: UInt64?, ref: String?) -> [UInt8] {
        build { object in
            object.field("type", "join")
            object.field("room", room)
            if let since { object.field("since", since) }
            if let ref { object.field("ref", ref) }
        }
    }

    public static func send(room: String, id: String, text: String) -> [UInt8] {
        build { object in
            object.field("type", "send")
            object.field("room", room)
            object.field("id", id)
            object.field("text", text)
        }
    }

    public static func leave(room: String, ref: String?) -> [UInt8] {
        build { object in
            object.field("type", "leave")
            object.field("room", room)
            if let ref { object.field("ref", ref) }
        }
    }

    public static func history(room: String, before: UInt64?, limit: Int?, ref: String?) -> [UInt8] {
        build { object in
            object.field("type", "history")
            object.field("room", room)
            if let before { object.field("before", before) }
            if let limit { object.field("limit", limit) }
            if let ref { object.field("ref", ref) }
        }
    }

    public static func ping(ref: String?) -> [UInt8] {
        build { object in
            object.field("type", "ping")
            if let ref { object.field("ref", ref) }
        }
    }

    private static func build(_ body: (inout JSONWriter.ObjectWriter) -> Void) -> [UInt8] {
        var writer = JSONWriter(capacity: 96)
        writer.object(body)
        return writer.bytes
    }
}
