import ChatClient
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A round trip against a real `chat-node` process (env `CHAT_NODE_BIN`; skipped without it).
/// The node listens on 127.0.0.1 on a free port and is stopped by its PID.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CHAT_NODE_BIN"] != nil), .timeLimit(.minutes(1)))
struct RealNodeTests {
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Collects events until one matches, failing after `seconds`.
    static func next(
        _ iterator: inout AsyncStream<ChatClientStreamItem>.Iterator, seconds: Double = 5,
        where match: (ChatClientStreamItem) -> Bool
    ) async -> ChatClientStreamItem? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, let item = await iterator.next() {
            if match(item) { return item }
        }
        return nil
    }

    @Test func helloJoinSendAckDeliverPingClose() async throws {
        let port = Self.freePort()
        let node = Process()
        node.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.environment["CHAT_NODE_BIN"]!)
        node.arguments = ["serve", "--host", "127.0.0.1", "--port", String(port), "--node-id", "n1"]
        node.standardOutput = FileHandle.nullDevice
        node.standardError = FileHandle.nullDevice
        try node.run()
        defer {
            kill(node.processIdentifier, SIGKILL)
            node.waitUntilExit()
        }
        var connected: (ChatClientConnection, AsyncStream<ChatClientStreamItem>)?
        for _ in 0..<100 where connected == nil {
            connected = try? await ChatClientConnection.connect(ChatClientConfiguration(host: "127.0.0.1", port: port))
            if connected == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let (connection, stream) = try #require(connected)
        var events = stream.makeAsyncIterator()
        connection.hello(user: "alice", token: nil)
        connection.join(room: "lobby", since: nil, ref: "j1")
        connection.send(room: "lobby", id: "m1", text: "hello \"world\"")
        connection.ping(ref: "p1")
        let welcome = await Self.next(&events) { if case .event(.welcome) = $0 { true } else { false } }
        #expect(welcome == .event(.welcome(user: "alice", node: "n1", session: welcomeSession(welcome))))
        let joined = await Self.next(&events) { if case .event(.joined) = $0 { true } else { false } }
        #expect(joined == .event(.joined(room: "lobby", ref: "j1", seq: 0, history: [], members: ["alice"], truncated: false)))
        let message = await Self.next(&events) { if case .event(.message) = $0 { true } else { false } }
        guard case .event(.message(let received)) = message else {
            Issue.record("no message frame")
            return
        }
        #expect(received.seq == 1 && received.id == "m1" && received.user == "alice" && received.text == "hello \"world\"")
        let ack = await Self.next(&events) { if case .event(.ack) = $0 { true } else { false } }
        #expect(ack == .event(.ack(room: "lobby", id: "m1", seq: 1)))
        let pong = await Self.next(&events) { if case .event(.pong) = $0 { true } else { false } }
        #expect(pong == .event(.pong(ref: "p1")))
        connection.close()
        let closed = await Self.next(&events) { if case .closed = $0 { true } else { false } }
        #expect(closed == .closed(1000))
    }

    func welcomeSession(_ item: ChatClientStreamItem?) -> String {
        if case .event(.welcome(_, _, let session)) = item { return session }
        return "?"
    }
}
