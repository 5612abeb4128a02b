import Logging
import Testing

@testable import Gossip

/// Real UDP on 127.0.0.1.
@Suite("GossipService over UDP", .serialized, .timeLimit(.minutes(1)))
struct ServiceTests {
    static func waitFor(_ timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    static func service(_ id: String, seeds: [GossipAddress], secret: String = "s3cret") -> GossipService {
        var logger = Logger(label: "gossip-test")
        logger.logLevel = .warning
        let config = GossipConfiguration(
            nodeID: id, bindHost: "127.0.0.1", bindPort: 0, seeds: seeds, secret: secret,
            metadata: ["host": "127.0.0.1", "clientPort": "0", "internalPort": "0"])
        return GossipService(configuration: config, logger: logger)
    }

    static func alive(_ s: GossipService) -> Set<String> {
        Set(s.members.filter { $0.status == .alive }.map(\.id))
    }

    @Test("three services find each other; a wrong secret never gets in; leave is seen", .timeLimit(.minutes(1)))
    func cluster() async throws {
        let a = Self.service("a", seeds: [])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            try #require(try await Self.waitFor { a.boundPort != nil })
            let seed = GossipAddress(host: "127.0.0.1", port: try #require(a.boundPort))
            #expect(a.isJoined)  // no seeds but itself
            let b = Self.service("b", seeds: [seed])
            let c = Self.service("c", seeds: [seed, GossipAddress(host: "localhost", port: seed.port)])
            let intruder = Self.service("intruder", seeds: [seed], secret: "not-the-secret")
            for s in [b, c, intruder] { group.addTask { try await s.run() } }
            let events = Task {
                var seen: [String] = []
                for await case .memberChanged(let m) in a.events {
                    seen.append("\(m.id):\(m.status.rawValue)")
                    if seen.contains("c:left") { break }
                }
                return seen
            }

            #expect(try await Self.waitFor { [a, b, c].allSatisfy { Self.alive($0) == ["a", "b", "c"] } })
            #expect(b.isJoined && c.isJoined)
            #expect(c.members.first { $0.id == "a" }?.address.port == a.boundPort)
            #expect(c.members.first { $0.id == "c" }?.metadata["host"] == "127.0.0.1")
            try await Task.sleep(for: .seconds(1))
            for s in [a, b, c] { #expect(!s.members.contains { $0.id == "intruder" }) }
            #expect(!intruder.isJoined)
            #expect(intruder.members.map(\.id) == ["intruder"])

            await c.leave()
            #expect(
                try await Self.waitFor {
                    a.members.first { $0.id == "c" }?.status == .left && b.members.first { $0.id == "c" }?.status == .left
                })
            let seen = await events.value
            #expect(seen.contains("b:alive") && seen.contains("c:alive") && seen.contains("c:left"))
            await c.leave()  // idempotent
            for s in [a, b, intruder] { await s.leave() }
            try await group.waitForAll()
        }
    }

    @Test("sends that fail locally for one destination (EACCES) never stop gossip to the others", .timeLimit(.minutes(1)))
    func failingDestination() async throws {
        let a = Self.service("a", seeds: [])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            try #require(try await Self.waitFor { a.boundPort != nil })
            let seed = GossipAddress(host: "127.0.0.1", port: try #require(a.boundPort))
            // A datagram to the broadcast address without SO_BROADCAST fails at once with EACCES,
            // as a blackhole route fails with EINVAL: NIO's channel would close on it.
            let unreachable = GossipAddress(host: "255.255.255.255", port: 7946)
            let b = Self.service("b", seeds: [unreachable, seed])
            group.addTask { try await b.run() }
            #expect(try await Self.waitFor { Self.alive(a) == ["a", "b"] && Self.alive(b) == ["a", "b"] })
            #expect(try await Self.waitFor { b.sendErrors > 0 })
            // Still gossiping a while later: b keeps probing a (its acks keep a alive in b's view).
            try await Task.sleep(for: .seconds(2))
            #expect(Self.alive(b) == ["a", "b"])
            #expect(a.members.first { $0.id == "b" }?.status == .alive)
            for s in [a, b] { await s.leave() }
            try await group.waitForAll()
        }
    }

    @Test("a killed service is declared dead by the others", .timeLimit(.minutes(1)))
    func crash() async throws {
        let a = Self.service("a", seeds: [])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            try #require(try await Self.waitFor { a.boundPort != nil })
            let seed = GossipAddress(host: "127.0.0.1", port: try #require(a.boundPort))
            let b = Self.service("b", seeds: [seed])
            let c = Self.service("c", seeds: [seed])
            group.addTask { try await b.run() }
            let cTask = Task { try await c.run() }
            #expect(try await Self.waitFor { [a, b, c].allSatisfy { Self.alive($0) == ["a", "b", "c"] } })
            cTask.cancel()  // stops at once, no leave announced: a crash as far as the others know
            _ = try? await cTask.value
            #expect(
                try await Self.waitFor(.seconds(15)) {
                    a.members.first { $0.id == "c" }?.status == .dead && b.members.first { $0.id == "c" }?.status == .dead
                })
            #expect(Self.alive(a) == ["a", "b"])
            for s in [a, b] { await s.leave() }
            try await group.waitForAll()
        }
    }
}
