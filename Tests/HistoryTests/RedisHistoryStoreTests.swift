import ChatCore
import History
import Logging
import Testing

/// The hiredis store against a real redis-server. Serialized: each test owns a server process.
@Suite("RedisHistoryStore (real redis-server)", .serialized)
struct RedisHistoryStoreTests {
    func message(_ seq: UInt64, room: String = "r", text: String? = nil) -> ChatMessage {
        ChatMessage(room: room, seq: seq, id: "m\(seq)", user: "u", text: text ?? "text \(seq)", ts: Int64(seq))
    }

    func makeStore(port: Int, capacity: Int = 1000) -> RedisHistoryStore {
        RedisHistoryStore(
            configuration: .init(url: RedisURL(host: "127.0.0.1", port: port), capacity: capacity),
            logger: Logger(label: "test"))
    }

    @Test(.timeLimit(.minutes(1)))
    func writesAreBatchedCappedAndReadBack() async throws {
        let redis = try RedisServerProcess()
        try redis.start()
        defer { redis.stop() }
        let store = makeStore(port: redis.port, capacity: 10)
        defer { store.stop() }
        let tricky = "binary-safe: \u{0} \"quotes\" \n and 🎉"
        for seq: UInt64 in 1...25 { store.append(message(seq, text: seq == 25 ? tricky : nil)) }
        store.append(message(1, room: "other"))
        #expect(await store.flush(timeout: .seconds(5)))
        let loaded = try await store.load(room: "r", limit: 100)
        #expect(loaded.map(\.seq) == Array(16...25))
        #expect(loaded.last?.text == tricky)
        #expect(try await store.load(room: "r", limit: 3).map(\.seq) == [23, 24, 25])
        #expect(try await store.load(room: "other", limit: 3).map(\.seq) == [1])
        #expect(try await store.load(room: "empty", limit: 3).isEmpty)
        // Writing a seq again (a retried batch) changes nothing.
        store.append(message(25, text: tricky))
        #expect(await store.flush(timeout: .seconds(5)))
        #expect(try await store.load(room: "r", limit: 100).count == 10)
    }

    /// Issue 11 §7: entries someone else wrote into the cache are checked like client input; the
    /// good ones are read, the rest skipped and counted, and the room stays readable.
    @Test(.timeLimit(.minutes(1)))
    func untrustworthyEntriesAreSkippedAndCounted() async throws {
        let redis = try RedisServerProcess()
        try redis.start()
        defer { redis.stop() }
        let store = makeStore(port: redis.port)
        defer { store.stop() }
        for seq: UInt64 in 1...3 { store.append(message(seq)) }
        #expect(await store.flush(timeout: .seconds(5)))
        func entry(_ seq: UInt64, room: String = "r", user: String = "u", text: String = "t") -> String {
            #"{"room":"\#(room)","seq":\#(seq),"id":"x\#(seq)","user":"\#(user)","text":"\#(text)","ts":1}"#
        }
        let bad: [(score: Int, member: String)] = [
            (4, "not json"),
            (5, entry(0)),  // seq 0
            (6, entry(6, room: "other")),  // another room's
            (7, entry(1 << 60)),  // beyond 2^53: the room would continue after it
            (8, entry(8, user: String(repeating: "x", count: 200))),  // no client could send that name
            (9, entry(2)),  // a seq below one already read (score and seq disagree)
            (11, entry(11, text: String(repeating: "y", count: 70_000))),  // larger than any frame
        ]
        for (score, member) in bad {
            #expect(RedisServerProcess.command(port: redis.port, ["ZADD", "chat:room:r", String(score), member]).hasPrefix(":1"))
        }
        #expect(RedisServerProcess.command(port: redis.port, ["ZADD", "chat:room:r", "10", entry(10)]).hasPrefix(":1"))
        let loaded = try await store.load(room: "r", limit: 100)
        #expect(loaded.map(\.seq) == [1, 2, 3, 10])
        #expect(store.skippedEntries == bad.count)
    }

    @Test(.timeLimit(.minutes(1)))
    func survivesRedisGoingAwayAndComingBack() async throws {
        let redis = try RedisServerProcess()
        try redis.start()
        let store = makeStore(port: redis.port)
        defer { store.stop() }
        store.append(message(1))
        #expect(await store.flush(timeout: .seconds(5)))

        redis.stop()
        // Reads fail fast with `unavailable`; writes wait in the queue.
        await #expect(throws: HistoryError.self) { try await store.load(room: "r", limit: 10) }
        for seq: UInt64 in 2...5 { store.append(message(seq)) }
        #expect(!(await store.flush(timeout: .milliseconds(300))))
        #expect(!store.isConnected)

        try redis.start()
        defer { redis.stop() }
        #expect(await store.flush(timeout: .seconds(10)), "the queue drains once redis is back")
        // redis restarted empty (no persistence), so exactly what was queued during the outage is there.
        #expect(try await store.load(room: "r", limit: 10).map(\.seq) == [2, 3, 4, 5])
        #expect(store.isConnected)
    }

    @Test(.timeLimit(.minutes(1)))
    func unreachableRedisFailsReadsWithoutHanging() async throws {
        let port = try RedisServerProcess.freePort()
        let store = makeStore(port: port)
        defer { store.stop() }
        let start = ContinuousClock.now
        await #expect(throws: HistoryError.self) { try await store.load(room: "r", limit: 10) }
        #expect(ContinuousClock.now - start < .seconds(3))
    }
}
