import Foundation

/// A frame a WebSocket client sends (PROTOCOL.md, "Client to server"), already validated: every
/// field is present, of the right type and within its limits.
public enum ClientFrame: Sendable, Hashable {
    case hello(user: String, token: String?)
    case join(room: String, since: UInt64?, ref: JSONValue?)
    case send(room: String, id: String, text: String)
    case leave(room: String, ref: JSONValue?)
    case history(room: String, before: UInt64?, limit: Int, ref: JSONValue?)
    case ping(ref: JSONValue?)

    /// Default and largest page of `history`.
    public static let defaultHistoryLimit = 50
    public static let maxHistoryLimit = 200

    /// Decodes and validates one text frame. Every failure is a `ProtocolError` carrying the
    /// frame's `ref` (or the `id` of a `send`) where the frame had a readable one.
    public static func decode(_ text: String, limits: ChatLimits) -> Result<ClientFrame, ProtocolError> {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            return .failure(ProtocolError(.badRequest, "frame is not valid JSON"))
        }
        guard case .object(let fields) = value else {
            return .failure(ProtocolError(.badRequest, "frame must be a JSON object"))
        }
        var reader = FieldReader(fields: fields)
        do {
            return .success(try reader.frame(limits: limits))
        } catch let error as ProtocolError {
            return .failure(error)
        } catch {
            return .failure(ProtocolError(.badRequest, "\(error)", ref: reader.ref))
        }
    }
}

/// Reads typed fields out of a decoded frame, turning every problem into `bad_request`.
struct FieldReader {
    let fields: [String: JSONValue]
    var ref: JSONValue?
    var id: String?

    init(fields: [String: JSONValue]) {
        self.fields = fields
        // `ref` is echoed back as it came, when it is a string or a number.
        switch fields["ref"] {
        case .string, .int, .double: ref = fields["ref"]
        default: ref = nil
        }
        if case .string(let id) = fields["id"] { self.id = id }
    }

    func fail(_ message: String) -> ProtocolError {
        ProtocolError(.badRequest, message, ref: ref, id: fields["type"] == .string("send") ? id : nil)
    }

    func string(_ key: String) throws -> String {
        guard let value = fields[key] else { throw fail("missing field '\(key)'") }
        guard case .string(let string) = value else { throw fail("field '\(key)' must be a string") }
        return string
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .string(let string) = value else { throw fail("field '\(key)' must be a string") }
        return string
    }

    func optionalInteger(_ key: String, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .int(let number) = value else { throw fail("field '\(key)' must be an integer") }
        guard range.contains(number) else {
            throw fail("field '\(key)' must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    func room() throws -> String {
        let room = try string("room")
        guard Validation.isValidRoom(room) else {
            throw fail("room must be 1-64 characters of A-Z a-z 0-9 . _ -")
        }
        return room
    }

    mutating func frame(limits: ChatLimits) throws -> ClientFrame {
        guard let typeValue = fields["type"] else { throw fail("missing field 'type'") }
        guard case .string(let type) = typeValue else { throw fail("field 'type' must be a string") }
        switch type {
        case "hello":
            let user = try string("user")
            guard Validation.isValidUser(user) else {
                throw fail("user must be 1-32 characters without control characters")
            }
            return .hello(user: user, token: try optionalString("token"))
        case "join":
            let room = try room()
            let since = try optionalInteger("since", in: 0...Int64.max)
            return .join(room: room, since: since.map(UInt64.init), ref: ref)
        case "send":
            let room = try room()
            let id = try string("id")
            guard Validation.isValidMessageID(id) else {
                throw fail("id must be 1-64 characters without control characters")
            }
            let text = try string("text")
            guard !text.isEmpty else { throw fail("text must not be empty") }
            guard text.count <= limits.maxTextLength else {
                throw ProtocolError(
                    .tooLarge, "text is longer than \(limits.maxTextLength) characters", ref: ref, id: id)
            }
            return .send(room: room, id: id, text: text)
        case "leave":
            return .leave(room: try room(), ref: ref)
        case "history":
            let room = try room()
            let before = try optionalInteger("before", in: 1...Int64.max)
            let limit =
                try optionalInteger("limit", in: 1...Int64(ClientFrame.maxHistoryLimit))
                ?? Int64(ClientFrame.defaultHistoryLimit)
            return .history(room: room, before: before.map(UInt64.init), limit: Int(limit), ref: ref)
        case "ping":
            return .ping(ref: ref)
        default:
            throw fail("unknown frame type '\(type.prefix(32))'")
        }
    }
}

/// The body of `POST /rooms/{room}/messages`: `{user, id, text}`, validated like a `send`.
public struct HTTPSend: Sendable, Hashable {
    public var user: String
    public var id: String
    public var text: String

    public init(user: String, id: String, text: String) {
        self.user = user
        self.id = id
        self.text = text
    }

    public static func decode(_ text: String, limits: ChatLimits) -> Result<HTTPSend, ProtocolError> {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
            return .failure(ProtocolError(.badRequest, "body is not valid JSON"))
        }
        guard case .object(var fields) = value else {
            return .failure(ProtocolError(.badRequest, "body must be a JSON object"))
        }
        fields["type"] = .string("send")
        let reader = FieldReader(fields: fields)
        do {
            let user = try reader.string("user")
            guard Validation.isValidUser(user) else {
                throw reader.fail("user must be 1-32 characters without control characters")
            }
            let id = try reader.string("id")
            guard Validation.isValidMessageID(id) else {
                throw reader.fail("id must be 1-64 characters without control characters")
            }
            let body = try reader.string("text")
            guard !body.isEmpty else { throw reader.fail("text must not be empty") }
            guard body.count <= limits.maxTextLength else {
                throw ProtocolError(.tooLarge, "text is longer than \(limits.maxTextLength) characters", id: id)
            }
            return .success(HTTPSend(user: user, id: id, text: body))
        } catch let error as ProtocolError {
            return .failure(error)
        } catch {
            return .failure(ProtocolError(.badRequest, "\(error)"))
        }
    }
}
