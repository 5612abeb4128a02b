/// What a client WebSocket runs, one input after another (see `SessionRunner`): protocol v1
/// (`WebSocketSession`) or the seed-compatible route (`SeedSession`).
protocol ClientSession: Sendable {
    /// Before the first frame (the seed route joins its room here). Returning false closes the
    /// connection.
    mutating func start() async -> Bool
    mutating func handle(text: String) async
    func rejectBinary()
    /// The socket closed: leave every room.
    mutating func end() async
}
