/// The error codes of protocol v1 (PROTOCOL.md). Raw values are the wire strings.
public enum ErrorCode: String, Sendable, Hashable, CaseIterable {
    case badRequest = "bad_request"
    case helloFirst = "hello_first"
    case unauthorized
    case notJoined = "not_joined"
    case tooLarge = "too_large"
    case rateLimited = "rate_limited"
    case unavailable
    case notFound = "not_found"
    /// HTTP only: a cross-origin request the node does not accept (403).
    case forbidden
    case `internal`

    /// The HTTP status that carries this code on the HTTP routes.
    public var httpStatus: Int {
        switch self {
        case .badRequest, .helloFirst, .notJoined: 400
        case .unauthorized: 401
        case .forbidden: 403
        case .notFound: 404
        case .tooLarge: 413
        case .rateLimited: 429
        case .unavailable: 503
        case .internal: 500
        }
    }
}

/// A protocol error: a code, a sentence for a person, and what it answers.
public struct ProtocolError: Error, Sendable, Hashable {
    public var code: ErrorCode
    public var message: String
    /// The `ref` of the frame it answers, as raw JSON (a string or a number), if it had one.
    public var ref: JSONValue?
    /// The `id` of the `send` it answers, if it answers a send.
    public var id: String?
    /// For `unavailable`: whether the condition passes within moments (a room moving between
    /// nodes), so that a node forwarding the request holds it and retries, rather than answering
    /// the client at once (false when the history cache is down).
    public var passesSoon: Bool

    public init(_ code: ErrorCode, _ message: String, ref: JSONValue? = nil, id: String? = nil, passesSoon: Bool = true) {
        self.code = code
        self.message = message
        self.ref = ref
        self.id = id
        self.passesSoon = passesSoon
    }
}
