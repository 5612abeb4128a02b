/// The limits a node enforces on clients. Defaults are PROTOCOL.md's; README's limits table
/// says what each bad input gets.
public struct ChatLimits: Sendable, Hashable, Codable {
    /// Largest inbound WebSocket message in bytes; larger closes the socket with 1009.
    public var maxFrameBytes: Int = 64 * 1024
    /// Longest `text`, in characters; longer is `too_large`.
    public var maxTextLength: Int = 4000
    /// Most bytes of UTF-8 in a `text`; more is `too_large`.
    public var maxTextBytes: Int = 16 * 1024
    /// Sustained sends per second allowed on one connection, and to one user across all of its
    /// connections on this node (token bucket refill rate).
    public var sendsPerSecond: Double = 20
    /// Sends a connection (and a user) may make in a burst above the sustained rate.
    public var sendBurst: Double = 40
    /// Sustained joins, `history` requests and HTTP reads per second of one user.
    public var requestsPerSecond: Double = 20
    /// Burst of those requests above the rate.
    public var requestBurst: Double = 100
    /// Sustained requests per second (sends included) from one client address, over all of its
    /// connections and HTTP requests.
    public var addressRequestsPerSecond: Double = 500
    /// Burst of an address's requests above the rate.
    public var addressRequestBurst: Double = 1000
    /// Frames that may wait for one slow socket. A client that falls this far behind is
    /// disconnected with close code 4008 and resumes with `since`; the room never waits for it.
    public var outboundQueueFrames: Int = 1024
    /// Rooms one connection may be joined to at once.
    public var maxRoomsPerConnection: Int = 100
    /// Room replicas the node holds at most; a new room beyond them is answered `unavailable`.
    public var maxRooms: Int = 100_000
    /// Client connections (HTTP and WebSocket) the node holds at once; more are answered 503.
    public var maxConnections: Int = 50_000
    /// Client connections from one address at once; more are answered 429.
    public var maxConnectionsPerAddress: Int = 128
    /// Loopback clients (a load tool, or a reverse proxy on the same host) are exempt from the
    /// per-address limits (connections and request rate); the node-wide ones still apply.
    public var exemptLoopback: Bool = true
    /// Seconds a `/ws` connection has to say `hello`; then it is closed with 1008.
    public var helloTimeoutSeconds: Double = 10
    /// Seconds a new connection has to send a complete request head; then it is answered 408.
    public var requestHeadTimeoutSeconds: Double = 10
    /// Seconds an HTTP keep-alive connection may sit idle between requests.
    public var httpIdleTimeoutSeconds: Double = 60
    /// Seconds of silence from a WebSocket client before the server pings it.
    public var pingIntervalSeconds: Double = 20
    /// Seconds a pinged client has to answer (anything) before the socket is closed (1001).
    public var pingTimeoutSeconds: Double = 10

    public init() {}

    enum CodingKeys: String, CodingKey {
        case maxFrameBytes, maxTextLength, maxTextBytes, sendsPerSecond, sendBurst, requestsPerSecond, requestBurst
        case addressRequestsPerSecond, addressRequestBurst, outboundQueueFrames, maxRoomsPerConnection
        case maxRooms, maxConnections, maxConnectionsPerAddress, exemptLoopback, helloTimeoutSeconds, requestHeadTimeoutSeconds
        case httpIdleTimeoutSeconds, pingIntervalSeconds, pingTimeoutSeconds
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var limits = ChatLimits()
        func read<T: Decodable>(_ key: CodingKeys, into path: WritableKeyPath<ChatLimits, T>) throws {
            if let value = try c.decodeIfPresent(T.self, forKey: key) { limits[keyPath: path] = value }
        }
        try read(.maxFrameBytes, into: \.maxFrameBytes)
        try read(.maxTextLength, into: \.maxTextLength)
        try read(.maxTextBytes, into: \.maxTextBytes)
        try read(.sendsPerSecond, into: \.sendsPerSecond)
        try read(.sendBurst, into: \.sendBurst)
        try read(.requestsPerSecond, into: \.requestsPerSecond)
        try read(.requestBurst, into: \.requestBurst)
        try read(.addressRequestsPerSecond, into: \.addressRequestsPerSecond)
        try read(.addressRequestBurst, into: \.addressRequestBurst)
        try read(.outboundQueueFrames, into: \.outboundQueueFrames)
        try read(.maxRoomsPerConnection, into: \.maxRoomsPerConnection)
        try read(.maxRooms, into: \.maxRooms)
        try read(.maxConnections, into: \.maxConnections)
        try read(.maxConnectionsPerAddress, into: \.maxConnectionsPerAddress)
        try read(.exemptLoopback, into: \.exemptLoopback)
        try read(.helloTimeoutSeconds, into: \.helloTimeoutSeconds)
        try read(.requestHeadTimeoutSeconds, into: \.requestHeadTimeoutSeconds)
        try read(.httpIdleTimeoutSeconds, into: \.httpIdleTimeoutSeconds)
        try read(.pingIntervalSeconds, into: \.pingIntervalSeconds)
        try read(.pingTimeoutSeconds, into: \.pingTimeoutSeconds)
        self = limits
    }

    /// Why these limits cannot be used, if they cannot.
    public var problem: String? {
        let positive: [(String, Double)] = [
            ("maxTextLength", Double(maxTextLength)), ("maxTextBytes", Double(maxTextBytes)),
            ("sendsPerSecond", sendsPerSecond), ("requestsPerSecond", requestsPerSecond),
            ("addressRequestsPerSecond", addressRequestsPerSecond), ("outboundQueueFrames", Double(outboundQueueFrames)),
            ("maxRoomsPerConnection", Double(maxRoomsPerConnection)), ("maxConnections", Double(maxConnections)),
            ("maxRooms", Double(maxRooms)),
            ("maxConnectionsPerAddress", Double(maxConnectionsPerAddress)), ("helloTimeoutSeconds", helloTimeoutSeconds),
            ("requestHeadTimeoutSeconds", requestHeadTimeoutSeconds), ("httpIdleTimeoutSeconds", httpIdleTimeoutSeconds),
            ("pingIntervalSeconds", pingIntervalSeconds), ("pingTimeoutSeconds", pingTimeoutSeconds),
        ]
        if let (name, _) = positive.first(where: { !($0.1 > 0) || !$0.1.isFinite }) {
            return "limits.\(name) must be a positive number"
        }
        if maxFrameBytes < 1024 { return "limits.maxFrameBytes must be at least 1024" }
        return nil
    }
}
