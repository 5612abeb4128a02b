import ChatCore
import NIOCore

/// An HTTP/1.1 answer written as bytes before any HTTP handler has run: the refusal of a
/// connection over a limit (503, 429) and the request-head deadline (408). It carries the same
/// `{code, message}` JSON as every other HTTP error and closes the connection.
enum RawHTTPResponse {
    static func bytes(status: Int, reason: String, code: ErrorCode, message: String) -> ByteBuffer {
        var json = JSONWriter()
        json.object { object in
            object.field("code", code.rawValue)
            object.field("message", message)
        }
        var buffer = ByteBuffer()
        buffer.writeString(
            "HTTP/1.1 \(status) \(reason)\r\ncontent-type: application/json; charset=utf-8\r\n"
                + "content-length: \(json.bytes.count)\r\nconnection: close\r\n\r\n")
        buffer.writeBytes(json.bytes)
        return buffer
    }

    /// The answer to a connection refused by `ClientGuard`.
    static func refusal(_ refusal: ClientGuard.Refusal, limits: ChatLimits) -> ByteBuffer {
        switch refusal {
        case .addressConnections:
            bytes(
                status: 429, reason: "Too Many Requests", code: .rateLimited,
                message: "too many connections from this address (at most \(limits.maxConnectionsPerAddress))")
        case .requestHeadTimeout:
            bytes(
                status: 408, reason: "Request Timeout", code: .badRequest,
                message: "no complete request head within \(limits.requestHeadTimeoutSeconds) s")
        default:
            bytes(
                status: 503, reason: "Service Unavailable", code: .unavailable,
                message: "this node holds its most connections (\(limits.maxConnections)); try another node")
        }
    }
}
