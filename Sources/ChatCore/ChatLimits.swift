/// The limits a node enforces on clients. Defaults are PROTOCOL.md's.
public struct ChatLimits: Sendable, Hashable, Codable {
    /// Largest inbound WebSocket message in bytes; larger closes the socket with 1009.
    public var maxFrameBytes: Int = 64 * 1024
    /// Longest `text`, in characters; longer is `too_large`.
    public var maxTextLength: Int = 4000
    /// Most bytes of UTF-8 in a `text`; more is `too_large`.
    public var maxTextBytes: Int = 16 * 1024
    /// Sustained sends per second allowed on one connection (token bucket refill rate).
    public var sendsPerSecond: Double = 20
    /// Sends a connection may make in a burst above the sustained rate (token bucket size).
    public var sendBurst: Double = 40
    /// Frames that may wait for one slow socket. A client that falls this far behind is
    /// disconnected with close code 4008 and resumes with `since`; the room never waits for it.
    public var outboundQueueFrames: Int = 1024
    /// Rooms one connection may be joined to at once.
    public var maxRoomsPerConnection: Int = 100

    public init() {}

    enum CodingKeys: String, CodingKey {
        case maxFrameBytes, maxTextLength, maxTextBytes, sendsPerSecond, sendBurst, outboundQueueFrames, maxRoomsPerConnection
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ChatLimits.defaults
        maxFrameBytes = try c.decodeIfPresent(Int.self, forKey: .maxFrameBytes) ?? d.maxFrameBytes
        maxTextLength = try c.decodeIfPresent(Int.self, forKey: .maxTextLength) ?? d.maxTextLength
        maxTextBytes = try c.decodeIfPresent(Int.self, forKey: .maxTextBytes) ?? d.maxTextBytes
        sendsPerSecond = try c.decodeIfPresent(Double.self, forKey: .sendsPerSecond) ?? d.sendsPerSecond
        sendBurst = try c.decodeIfPresent(Double.self, forKey: .sendBurst) ?? d.sendBurst
        outboundQueueFrames = try c.decodeIfPresent(Int.self, forKey: .outboundQueueFrames) ?? d.outboundQueueFrames
        maxRoomsPerConnection =
            try c.decodeIfPresent(Int.self, forKey: .maxRoomsPerConnection) ?? d.maxRoomsPerConnection
    }

    static let defaults = ChatLimits()
}
