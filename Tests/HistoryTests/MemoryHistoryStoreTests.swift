import ChatCore
import History
import Testing

@Suite("MemoryHistoryStore and RedisURL")
struct MemoryHistoryStoreTests {
    func message(_ seq: UInt64, room: String = "r") -> ChatMessage {
        ChatMessage(room: room, seq: seq, id: "m\(seq)", user: "u", text: "t\(seq)", ts: Int64(seq))
    }

    @Test func keepsTheLatestCapacityMessagesPerRoom() async throws {
        let store = MemoryHistoryStore(capacity: 5)
        for seq: UInt64 in 1...8 { store.append(message(seq)) }
        store.append(message(1, room: "other"))
        #expect(try await store.load(room: "r", limit: 100).map(\.seq) == [4, 5, 6, 7, 8])
        #expect(try await store.load(room: "r", limit: 2).map(\.seq) == [7, 8])
        #expect(try await store.load(room: "other", limit: 10).map(\.seq) == [1])
        #expect(try await store.load(room: "none", limit: 10).isEmpty)
    }

    @Test func ignoresReplayedSeqs() async throws {
        let store = MemoryHistoryStore()
        store.append(message(1))
        store.append(message(2))
        store.append(message(2))
        store.append(message(1))
        #expect(try await store.load(room: "r", limit: 10).map(\.seq) == [1, 2])
    }

    @Test func parsesRedisURLs() {
        #expect(RedisURL("redis://127.0.0.1:6380") == RedisURL(host: "127.0.0.1", port: 6380))
        #expect(RedisURL("redis://localhost") == RedisURL(host: "localhost", port: 6379))
        #expect(RedisURL("redis://:pw@h:1/3") == RedisURL(host: "h", port: 1, password: "pw", database: 3))
        #expect(RedisURL("redis://user:pw@h/2") == RedisURL(host: "h", port: 6379, password: "pw", database: 2))
        #expect(RedisURL("http://h") == nil)
        #expect(RedisURL("redis://h:99999") == nil)
        #expect(RedisURL("redis://") == nil)
        #expect(RedisURL("redis://:pw@h:1/3")?.description == "redis://h:1/3", "the password never reaches logs")
    }
}
