/// Where a `ChatClientConnection` connects: a node's client port and its WebSocket path.
public struct ChatClientConfiguration: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// The WebSocket route, `/ws` for protocol v1.
    public var path: String
    /// Largest server frame accepted (a `joined` with a long `since` gap can be large).
    public var maxFrameSize: Int = 1 << 24
    /// Time allowed for the TCP connect and the WebSocket upgrade together (a paused node accepts
    /// TCP connections in its kernel backlog but never answers the upgrade).
    public var connectTimeout: Duration = .seconds(5)

    public init(host: String, port: Int, path: String = "/ws") {
        self.host = host
        self.port = port
        self.path = path
    }
}
