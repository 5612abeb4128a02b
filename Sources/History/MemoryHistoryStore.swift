import ChatCore
import DequeModule
import Synchronization

/// The embedded history store: each room's latest `capacity` messages in this process's memory.
/// Used when no Redis is configured, and in tests.
public final class MemoryHistoryStore: HistoryStore {
    private let capacity: Int
    private let rooms = Mutex<[String: Deque<ChatMessage>]>([:])

    public init(capacity: Int = 1000) {
        self.capacity = max(1, capacity)
    }

    public func load(room: String, limit: Int) async throws -> [ChatMessage] {
        rooms.withLock { rooms in
            guard let log = rooms[room] else { return [] }
            return Array(log.suffix(max(0, limit)))
        }
    }

    public func append(_ message: ChatMessage) {
        rooms.withLock { rooms in
            var log = rooms.removeValue(forKey: message.room) ?? []
            // Replays of a seq already held (a retried write) are ignored, like Redis's ZADD.
            if let last = log.last, message.seq <= last.seq {
                rooms[message.room] = log
                return
            }
            log.append(message)
            if log.count > capacity { log.removeFirst(log.count - capacity) }
            rooms[message.room] = log
        }
    }

    public func flush(timeout: Duration) async -> Bool { true }
}
