/// Validates the fields of a decoded client frame and builds the `ClientFrame`, turning every
/// problem into `bad_request` (or `too_large` for a long text) that names the field.
struct FieldReader {
    let fields: FrameFields
    /// The frame's `ref`, echoed back in errors as it came when it is a string or a number.
    let ref: JSONValue?
    /// The frame's `id` when it is a `send` (errors about a send answer with its id).
    let sendID: String?

    init(fields: FrameFields) {
        self.fields = fields
        switch fields.ref {
        case .string, .int, .double: ref = fields.ref
        default: ref = nil
        }
        if fields.type == .string("send"), case .string(let id) = fields.id {
            sendID = id
        } else {
            sendID = nil
        }
    }

    func fail(_ message: String) -> ProtocolError {
        ProtocolError(.badRequest, message, ref: ref, id: sendID)
    }

    func string(_ key: StaticString, _ value: JSONValue?) throws(ProtocolError) -> String {
        guard let value else { throw fail("missing field '\(key)'") }
        guard case .string(let string) = value else { throw fail("field '\(key)' must be a string") }
        return string
    }

    func optionalString(_ key: StaticString, _ value: JSONValue?) throws(ProtocolError) -> String? {
        guard let value, value != .null else { return nil }
        guard case .string(let string) = value else { throw fail("field '\(key)' must be a string") }
        return string
    }

    /// An optional integer field. A number written with a fraction or an exponent that is a whole
    /// number (`10.0`, `1e2`) counts as that integer, as it did when frames were decoded with
    /// `JSONDecoder`; `1.5` does not.
    func optionalInteger(_ key: StaticString, _ value: JSONValue?, in range: ClosedRange<Int64>) throws(ProtocolError) -> Int64? {
        let number: Int64
        switch value {
        case nil, .null?: return nil
        case .int(let integer)?: number = integer
        case .double(let double)?:
            guard let integer = Int64(exactly: double) else { throw fail("field '\(key)' must be an integer") }
            number = integer
        default: throw fail("field '\(key)' must be an integer")
        }
        guard range.contains(number) else {
            throw fail("field '\(key)' must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    func room() throws(ProtocolError) -> String {
        let room = try string("room", fields.room)
        guard Validation.isValidRoom(room) else {
            throw fail("room must be 1-64 characters of A-Z a-z 0-9 . _ -")
        }
        return room
    }

    func frame(limits: ChatLimits) throws(ProtocolError) -> ClientFrame {
        let type = try string("type", fields.type)
        switch type {
        case "hello":
            return .hello(user: try user(), token: try optionalString("token", fields.token))
        case "join":
            let room = try room()
            let since = try optionalInteger("since", fields.since, in: 0...Int64.max)
            return .join(room: room, since: since.map(UInt64.init), ref: ref)
        case "send":
            let room = try room()
            let id = try messageID()
            return .send(room: room, id: id, text: try text(limits: limits, id: id))
        case "leave":
            return .leave(room: try room(), ref: ref)
        case "history":
            let room = try room()
            let before = try optionalInteger("before", fields.before, in: 1...Int64.max)
            let limit =
                try optionalInteger("limit", fields.limit, in: 1...Int64(ClientFrame.maxHistoryLimit))
                ?? Int64(ClientFrame.defaultHistoryLimit)
            return .history(room: room, before: before.map(UInt64.init), limit: Int(limit), ref: ref)
        case "ping":
            return .ping(ref: ref)
        default:
            throw fail("unknown frame type '\(type.prefix(32))'")
        }
    }

    /// The `user` field as a normalized, valid name (`Validation.normalizedUser`).
    func user() throws(ProtocolError) -> String {
        let user = try string("user", fields.user)
        guard let normalized = Self.normalizedUser(user) else {
            throw fail("user must be 1-32 characters and at most 128 bytes of UTF-8, without control or format characters")
        }
        return normalized
    }

    /// The `id` field of a send.
    func messageID() throws(ProtocolError) -> String {
        let id = try string("id", fields.id)
        guard Self.isValidMessageID(id) else {
            throw fail("id must be 1-64 characters and at most 128 bytes of UTF-8, without control characters")
        }
        return id
    }

    /// The `text` field of a send: not empty, within both of `limits`' caps (`too_large`).
    func text(limits: ChatLimits, id: String) throws(ProtocolError) -> String {
        let text = try string("text", fields.text)
        guard !text.isEmpty else { throw fail("text must not be empty") }
        guard Self.fits(text, limits.maxTextLength) else {
            throw ProtocolError(.tooLarge, "text is longer than \(limits.maxTextLength) characters", ref: ref, id: id)
        }
        guard text.utf8.count <= limits.maxTextBytes else {
            throw ProtocolError(.tooLarge, "text is longer than \(limits.maxTextBytes) bytes of UTF-8", ref: ref, id: id)
        }
        return text
    }

    /// `Validation.normalizedUser`, answered without the Unicode tables for printable ASCII
    /// (which is its own NFC form).
    static func normalizedUser(_ user: String) -> String? {
        isPrintableASCII(user, maxLength: 32) ? user : Validation.normalizedUser(user)
    }

    /// `Validation.isValidMessageID`, answered without the Unicode tables for printable ASCII.
    static func isValidMessageID(_ id: String) -> Bool {
        isPrintableASCII(id, maxLength: 64) || Validation.isValidMessageID(id)
    }

    /// True when `text` is 1...`maxLength` bytes of printable ASCII (0x20-0x7E). Such a text is
    /// valid for every "n characters without control characters" rule: each byte is one
    /// character and none is a control. False says nothing: the caller asks `Validation`.
    static func isPrintableASCII(_ text: String, maxLength: Int) -> Bool {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= maxLength else { return false }
        return utf8.withContiguousStorageIfAvailable { bytes in bytes.allSatisfy { $0 &- 0x20 < 0x5F } } ?? false
    }

    /// Whether `text` has at most `limit` characters; counting characters (grapheme clusters) is
    /// skipped when the text has no more UTF-8 bytes than that, since a character is at least one
    /// byte.
    static func fits(_ text: String, _ limit: Int) -> Bool {
        text.utf8.count <= limit || text.count <= limit
    }
}
