import ChatCore
import DequeModule
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The history cache in Redis, through hiredis.
///
/// hiredis blocks, so one dedicated worker thread owns the only connection and runs every
/// command; event loops and the cooperative pool only enqueue work and never wait on Redis.
///
/// - Each room is one sorted set `chat:room:{room}`, scored by seq, holding the message as JSON.
///   Re-writing a seq is harmless (same member, same score), so retried batches are idempotent.
/// - Writes are batched: whatever is queued when the worker wakes (up to `batchSize`) goes out as
///   one pipeline, `ZADD` per message then one `ZREMRANGEBYRANK` per room to cap it at
///   `capacity` messages.
/// - When Redis is down, writes wait in a queue of at most `maxPending` messages (older ones are
///   dropped and counted) and reads fail at once with `HistoryError.unavailable`; the worker
///   reconnects with back-off (100 ms doubling to 2 s) and drains the queue when Redis returns.
public final class RedisHistoryStore: HistoryStore, Service, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var url: RedisURL
        public var capacity: Int = 1000
        public var batchSize: Int = 512
        public var maxPending: Int = 100_000
        /// Bound on connecting and on every blocking read or write.
        public var timeout: Duration = .seconds(1)

        public init(url: RedisURL, capacity: Int = 1000) {
            self.url = url
            self.capacity = capacity
        }
    }

    private struct ReadRequest {
        var room: String
        var limit: Int
        var continuation: CheckedContinuation<[ChatMessage], any Error>
    }

    private let configuration: Configuration
    private let logger: Logger
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var pendingWrites: Deque<ChatMessage> = []
    private var pendingReads: [ReadRequest] = []
    private var enqueued: UInt64 = 0
    private var settled: UInt64 = 0
    private var stopping = false
    private var connected = false

    private let writesCounter = Counter(label: "chat_history_writes_total")
    private let errorsCounter = Counter(label: "chat_history_errors_total")
    private let droppedCounter = Counter(label: "chat_history_dropped_total")
    private let upGauge = Gauge(label: "chat_history_up")
    private let skippedCounter = Counter(label: "chat_history_skipped_total")
    private let skipped = Atomic<Int>(0)

    /// Entries read back that were skipped as not trustworthy (`StoredEntry.check`), since start.
    public var skippedEntries: Int { skipped.load(ordering: .relaxed) }

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let thread = Thread { [self] in self.workerLoop() }
        thread.name = "redis-history"
        thread.start()
    }

    /// Whether the worker's last attempt to reach Redis succeeded.
    public var isConnected: Bool {
        condition.lock()
        defer { condition.unlock() }
        return connected
    }

    public func load(room: String, limit: Int) async throws -> [ChatMessage] {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            pendingReads.append(ReadRequest(room: room, limit: limit, continuation: continuation))
            condition.signal()
            condition.unlock()
        }
    }

    public func append(_ message: ChatMessage) {
        condition.lock()
        pendingWrites.append(message)
        enqueued += 1
        if pendingWrites.count > configuration.maxPending {
            pendingWrites.removeFirst()
            settled += 1
            droppedCounter.increment()
        }
        condition.signal()
        condition.unlock()
    }

    public func flush(timeout: Duration) async -> Bool {
        let target = locked { enqueued }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if locked({ settled >= target }) { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    /// Runs until graceful shutdown, then writes what is queued (for at most two seconds) and
    /// stops the worker.
    public func run() async throws {
        try? await gracefulShutdown()
        if !(await flush(timeout: .seconds(2))) {
            logger.warning("history: shutting down with unwritten messages")
        }
        stop()
    }

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    /// Stops the worker thread; pending reads fail.
    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    // MARK: Worker thread

    private func key(_ room: String) -> [UInt8] { Array("chat:room:\(room)".utf8) }

    private func workerLoop() {
        var connection: RedisConnection?
        var backoff: Duration = .milliseconds(100)
        var nextAttempt = ContinuousClock.now
        while true {
            condition.lock()
            while pendingWrites.isEmpty && pendingReads.isEmpty && !stopping {
                condition.wait()
            }
            if stopping {
                let reads = pendingReads
                pendingReads = []
                condition.unlock()
                for read in reads { read.continuation.resume(throwing: HistoryError.unavailable("shutting down")) }
                return
            }
            let reads = pendingReads
            pendingReads = []
            let writes = Array(pendingWrites.prefix(configuration.batchSize))
            condition.unlock()

            if connection == nil, ContinuousClock.now >= nextAttempt {
                do {
                    connection = try RedisConnection(url: configuration.url, timeout: configuration.timeout)
                    backoff = .milliseconds(100)
                    setConnected(true)
                    logger.info("history: connected to \(configuration.url)")
                } catch {
                    if isConnected || backoff == .milliseconds(100) {
                        logger.error("history: cannot reach \(configuration.url): \(error)")
                    }
                    setConnected(false)
                    errorsCounter.increment()
                    nextAttempt = ContinuousClock.now + backoff
                    backoff = min(backoff * 2, .seconds(2))
                }
            }
            guard let live = connection else {
                for read in reads {
                    read.continuation.resume(throwing: HistoryError.unavailable("redis is not reachable"))
                }
                // Writes stay queued; sleep until the next attempt (or new reads arrive).
                condition.lock()
                if pendingReads.isEmpty && !stopping {
                    _ = condition.wait(until: Date().addingTimeInterval(Self.seconds(nextAttempt - .now)))
                }
                condition.unlock()
                continue
            }
            do {
                try serve(reads, on: live)
                if !writes.isEmpty {
                    try write(writes, on: live)
                    condition.lock()
                    pendingWrites.removeFirst(min(writes.count, pendingWrites.count))
                    settled += UInt64(writes.count)
                    condition.unlock()
                    writesCounter.increment(by: writes.count)
                }
            } catch {
                logger.error("history: lost connection to \(configuration.url): \(error)")
                errorsCounter.increment()
                connection = nil
                setConnected(false)
                nextAttempt = ContinuousClock.now + backoff
            }
        }
    }

    private func setConnected(_ value: Bool) {
        condition.lock()
        connected = value
        condition.unlock()
        upGauge.record(value ? 1 : 0)
    }

    /// Answers every read; each continuation is resumed exactly once. A broken connection fails
    /// the remaining reads and is rethrown so the caller drops the connection.
    private func serve(_ reads: [ReadRequest], on connection: RedisConnection) throws {
        var broken: RedisConnection.IOError?
        for request in reads {
            if let broken {
                request.continuation.resume(throwing: HistoryError.unavailable(broken.description))
                continue
            }
            do {
                request.continuation.resume(returning: try read(request, on: connection))
            } catch let error as RedisConnection.IOError {
                broken = error
                request.continuation.resume(throwing: HistoryError.unavailable(error.description))
            } catch {
                request.continuation.resume(throwing: error)
            }
        }
        if let broken { throw broken }
    }

    private func read(_ request: ReadRequest, on connection: RedisConnection) throws -> [ChatMessage] {
        let reply = try connection.command(["ZRANGE", "chat:room:\(request.room)", "-\(max(1, request.limit))", "-1"])
        guard case .array(let members) = reply else {
            throw HistoryError.corrupt("ZRANGE answered \(reply)")
        }
        // Trust nothing read back: an entry that does not decode, names another room, has a seq
        // out of range or a field no client could have sent is skipped and counted, never trapped
        // on and never allowed to make the room unreadable.
        let decoder = JSONDecoder()
        var messages: [ChatMessage] = []
        for member in members {
            guard case .string(let bytes) = member, let message = try? decoder.decode(ChatMessage.self, from: Data(bytes)),
                StoredEntry.isTrustworthy(message, room: request.room), (messages.last?.seq ?? 0) < message.seq
            else {
                skipped.add(1, ordering: .relaxed)
                skippedCounter.increment()
                continue
            }
            messages.append(message)
        }
        if messages.count < members.count {
            logger.warning("skipped \(members.count - messages.count) untrustworthy entries of chat:room:\(request.room)")
        }
        return messages
    }

    private func write(_ messages: [ChatMessage], on connection: RedisConnection) throws {
        var rooms: Set<String> = []
        for message in messages {
            try connection.append([Array("ZADD".utf8), key(message.room), Array(String(message.seq).utf8), Array(message.json.utf8)])
            rooms.insert(message.room)
        }
        for room in rooms {
            try connection.append([Array("ZREMRANGEBYRANK".utf8), key(room), Array("0".utf8), Array("-\(configuration.capacity + 1)".utf8)])
        }
        for _ in 0..<(messages.count + rooms.count) {
            if case .error(let message) = try connection.nextReply() {
                errorsCounter.increment()
                logger.error("history: redis refused a write: \(message)")
            }
        }
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        max(0, Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}
