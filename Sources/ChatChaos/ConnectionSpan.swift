/// One connection of one client, from the connect attempt until it closed: its generation (every
/// attempt gets a new one), the node it went to, and how each room's `join` was answered.
struct ConnectionSpan: Sendable, Hashable, Codable {
    /// One `join` on this connection.
    struct Join: Sendable, Hashable, Codable {
        /// The `since` sent: the highest seq the client had seen of the room (any kind).
        var since: UInt64
        var sentAt: Double
        /// When `joined` arrived (nil: never).
        var answeredAt: Double?
        /// `joined.seq`.
        var seq: UInt64?
        /// `joined.truncated`.
        var truncated = false
    }

    var generation: Int
    /// Endpoint index of the node.
    var node: Int
    /// The node's id from `welcome` (nil: never welcomed).
    var nodeName: String?
    /// When the connect attempt began.
    var startedAt: Double
    /// When the TCP/WebSocket connection was up (nil: it never was).
    var connectedAt: Double?
    /// When it closed or the attempt failed (nil: still open when observed).
    var closedAt: Double?
    /// Set when the client dropped the connection because the node went silent (a paused or
    /// vanished node keeps TCP open): the last time it heard anything from the node.
    var silentSince: Double?
    /// Joins by room.
    var joins: [String: Join] = [:]

    /// The end of the connection's live delivery window: when it closed (or `observedAt` when still
    /// open), or, when the client dropped it for silence, when the node was last heard — from
    /// then on nothing could arrive, whatever the node did.
    func liveEnd(observedAt: Double) -> Double {
        min(closedAt ?? observedAt, silentSince ?? .infinity)
    }

    /// `n2 (connection #5)`, with the endpoint index as fallback name.
    func describe(names: (Int) -> String) -> String {
        "\(nodeName ?? names(node)) (connection #\(generation))"
    }
}
