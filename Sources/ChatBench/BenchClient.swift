import ChatClient

/// The benchmark's side of one connection: which room it is in, and, for a sender, what it has
/// sent. Created before the connection; after `LoopShard.attach(_:connection:)` it is touched only
/// on the connection's event loop (hence `@unchecked Sendable`).
final class BenchClient: @unchecked Sendable {
    let index: Int
    let room: Int
    let roomName: String
    /// The global sender index, or nil for a receiver only.
    let sender: Int?

    var connection: ChatClientConnection?
    var shard: LoopShard?
    var joined = false
    var closed = false
    /// The next message counter to send.
    var nextCounter = 0
    var inFlight = 0
    /// Monotonic time each message left (index = counter), for the ack latency.
    var sendTimes: [UInt64] = []

    init(index: Int, room: Int, roomName: String, sender: Int?) {
        self.index = index
        self.room = room
        self.roomName = roomName
        self.sender = sender
    }

    func handle(_ event: ServerEvent) {
        shard?.handle(event, from: self)
    }

    func handleClose(code: Int?) {
        closed = true
        shard?.connectionClosed(self, code: code)
    }
}
