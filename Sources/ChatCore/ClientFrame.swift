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
        let fields: FrameFields
        switch FrameFields.parse(text) {
        case .success(let parsed): fields = parsed
        case .failure(.notJSON): return .failure(ProtocolError(.badRequest, "frame is not valid JSON"))
        case .failure(.notObject): return .failure(ProtocolError(.badRequest, "frame must be a JSON object"))
        }
        let reader = FieldReader(fields: fields)
        do throws(ProtocolError) {
            return .success(try reader.frame(limits: limits))
        } catch {
            return .failure(error)
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
        var fields: FrameFields
        switch FrameFields.parse(text) {
        case .success(let parsed): fields = parsed
        case .failure(.notJSON): return .failure(ProtocolError(.badRequest, "body is not valid JSON"))
        case .failure(.notObject): return .failure(ProtocolError(.badRequest, "body must be a JSON object"))
        }
        // An HTTP send answers errors with its id, as a `send` frame does.
        fields.type = .string("send")
        let reader = FieldReader(fields: fields)
        do throws(ProtocolError) {
            let user = try reader.user()
            let id = try reader.messageID()
            return .success(HTTPSend(user: user, id: id, text: try reader.text(limits: limits, id: id)))
        } catch {
            return .failure(error)
        }
    }
}
