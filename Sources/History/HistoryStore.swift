import ChatCore

/// The history cache behind one protocol: Redis through hiredis, or memory.
///
/// History is a cache, nothing more: the room's owner holds the order and the recent log; the
/// store lets a node that (re)starts a room continue its seq and serve old messages. Writes are
/// queued and batched off the ack path; reads happen only when a node takes up a room.
public protocol HistoryStore: Sendable {
    /// The latest `limit` messages of `room`, oldest first.
    /// - Throws: `HistoryError.unavailable` when the store cannot be read right now.
    func load(room: String, limit: Int) async throws -> [ChatMessage]

    /// Queues a message to be written. Returns at once; never blocks the caller.
    func append(_ message: ChatMessage)

    /// Waits until every message appended before the call is written, or `timeout` passes.
    /// - Returns: whether everything was written.
    @discardableResult
    func flush(timeout: Duration) async -> Bool
}

/// Why the history store could not answer.
public enum HistoryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The store is not reachable; the caller may retry later.
    case unavailable(String)
    /// The store answered with something that is not a message.
    case corrupt(String)

    public var description: String {
        switch self {
        case .unavailable(let reason): "history store unavailable: \(reason)"
        case .corrupt(let reason): "history store returned bad data: \(reason)"
        }
    }
}
