import NIOCore
import NIOPosix
import RoomGroup
import Synchronization
import Testing

@testable import Cluster

/// `GroupHost`, the shell around the room groups, on real event loops and the real clock: three
/// hosts joined by an in-memory network that can cut a node off (packets dropped silently, and
/// each side's gossip view updated as SWIM would).
@Suite("Room groups on event loops", .timeLimit(.minutes(1)))
struct GroupHostTests {
    final class Network: Sendable {
        let hosts = Mutex<[String: GroupHost]>([:])
        let cut = Mutex<Set<String>>([])
        let delivered = Mutex<[String: [UInt64]]>([:])
        /// Link writes and the packets they carried.
        let writes = Mutex<(count: Int, packets: Int)>((0, 0))

        func send(from: String, to: String, _ packets: [GroupPacket]) {
            writes.withLock {
                $0.count += 1
                $0.packets += packets.count
            }
            let cutOff = cut.withLock { $0.contains(from) || $0.contains(to) }
            guard !cutOff, let host = hosts.withLock({ $0[to] }) else { return }
            host.receive(packets)
        }

        func record(_ node: String, _ delivery: GroupDelivery) {
            guard case .messages(let messages) = delivery else { return }
            delivered.withLock { $0[node, default: []] += messages.map(\.seq) }
        }
    }

    static let room = "lobby"

    /// Three hosts n1…n3 of `rooms` rooms, each seeing the others alive.
    static func cluster(_ group: MultiThreadedEventLoopGroup, rooms: [String] = [room]) -> (Network, [GroupHost]) {
        let network = Network()
        let replicas = ["n1", "n2", "n3"].map { ReplicaID(node: $0, boot: 1) }
        var hosts: [GroupHost] = []
        for replica in replicas {
            let name = replica.node
            let sinks = GroupHost.Sinks(
                send: { to, packets in network.send(from: name, to: to, packets) },
                deliver: { _, delivery in network.record(name, delivery) },
                persist: { _, _ in })
            hosts.append(GroupHost(me: replica, eventLoop: group.next(), sinks: sinks))
        }
        network.hosts.withLock { $0 = Dictionary(uniqueKeysWithValues: hosts.map { ($0.me.node, $0) }) }
        for host in hosts {
            host.liveness(Set(replicas))
            for room in rooms { host.open(room, genesis: GroupConfig(voters: replicas), placement: replicas.map(\.node)) }
        }
        return (network, hosts)
    }

    /// Sends through `hosts` (following `notLeader` hints, retrying `unavailable` with the same
    /// id) until acked; nil if not acked within `attempts`.
    static func send(_ id: String, via hosts: [GroupHost], room: String = room, attempts: Int = 100) async throws -> GroupReply? {
        var target = hosts[0]
        for _ in 0..<attempts {
            let reply = try await target.send(room: room, user: "u", id: id, text: "text \(id)").get()
            switch reply {
            case .acked, .duplicate: return reply
            case .notLeader(let hint):
                if let next = hosts.first(where: { $0.me.node == hint }) { target = next }
            default:
                target = hosts[(hosts.firstIndex { $0 === target }! + 1) % hosts.count]
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        return nil
    }

    /// The current leader among `hosts`.
    static func leader(of hosts: [GroupHost]) async throws -> GroupHost {
        for host in hosts where try await host.status(room: room).get()?.role == .leader { return host }
        throw LeaderMissing()
    }

    struct LeaderMissing: Error {}

    /// After one more send (followers learn the commit index with the next append), every host
    /// must have delivered `expected` first, each seq once and in order.
    static func expectDelivered(_ expected: [UInt64], by hosts: [GroupHost], in network: Network) async throws {
        try await Task.sleep(for: .milliseconds(300))
        _ = try await send("flush", via: hosts)
        try await Task.sleep(for: .milliseconds(300))
        for host in hosts {
            let delivered = network.delivered.withLock { $0[host.me.node] ?? [] }
            #expect(Array(delivered.prefix(expected.count)) == expected, "\(host.me.node) delivered \(delivered)")
        }
        for host in hosts { try await host.close().get() }
    }

    @Test("a leader is chosen, sends are acked with gap-free seqs on every replica, a retry keeps its seq")
    func acksInOrder() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (network, hosts) = Self.cluster(loops)
        var seqs: [UInt64] = []
        for i in 1...30 {
            guard case .acked(let seq) = try await Self.send("m\(i)", via: hosts) else {
                Issue.record("m\(i) was not acked")
                break
            }
            seqs.append(seq)
        }
        #expect(seqs == Array(1...30))
        let retry = try await Self.send("m7", via: hosts)
        #expect(retry == .duplicate(seq: 7))
        try await Self.expectDelivered(Array(1...30), by: hosts, in: network)
        try await loops.shutdownGracefully()
    }

    @Test("a cut-off leader answers unavailable; the majority elects another and acks; after healing one order")
    func partitionedLeader() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (network, hosts) = Self.cluster(loops)
        _ = try await Self.send("before", via: hosts)
        let leader = try await Self.leader(of: hosts)
        let others = hosts.filter { $0 !== leader }
        network.cut.withLock { _ = $0.insert(leader.me.node) }
        leader.liveness([leader.me])
        for host in others { host.liveness(Set(others.map(\.me))) }

        // The minority side refuses at once: it cannot see a majority.
        let refused = try await leader.send(room: Self.room, user: "u", id: "cut", text: "x").get()
        #expect(refused == .unavailable)
        // The majority side goes on.
        guard case .acked(let seq) = try await Self.send("during", via: others) else {
            Issue.record("the majority side did not ack")
            return
        }
        #expect(seq == 2)

        network.cut.withLock { $0 = [] }
        for host in hosts { host.liveness(Set(hosts.map(\.me))) }
        guard case .acked(let after) = try await Self.send("after", via: hosts) else {
            Issue.record("no ack after healing")
            return
        }
        #expect(after == 3)
        try await Self.expectDelivered([1, 2, 3], by: hosts, in: network)
        try await loops.shutdownGracefully()
    }

    @Test("one link write per node and tick carries the packets of every room")
    func batchesPerTick() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let rooms = (1...20).map { "room\($0)" }
        let (network, hosts) = Self.cluster(loops, rooms: rooms)
        // Every room elects and acks once (one leader each), then all rooms send at once.
        for room in rooms { _ = try await Self.send("first", via: hosts, room: room) }
        network.writes.withLock { $0 = (0, 0) }
        let replies = try await withThrowingTaskGroup(of: GroupReply?.self) { group in
            for room in rooms { group.addTask { try await Self.send("burst", via: hosts, room: room) } }
            return try await group.reduce(into: [GroupReply?]()) { $0.append($1) }
        }
        #expect(replies.count == rooms.count)
        for reply in replies {
            guard case .acked = reply else {
                Issue.record("a burst send was not acked: \(String(describing: reply))")
                continue
            }
        }
        let (writes, packets) = network.writes.withLock { $0 }
        // 20 appends and 20 replies at the least, in far fewer writes.
        #expect(packets >= 40)
        #expect(writes * 2 <= packets, "\(writes) writes for \(packets) packets")
        for host in hosts { try await host.close().get() }
        try await loops.shutdownGracefully()
    }

    @Test("closing a host answers its waiting requests unavailable")
    func closeAnswersWaiting() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (network, hosts) = Self.cluster(loops)
        _ = try await Self.send("first", via: hosts)
        let leader = try await Self.leader(of: hosts)
        // Followers stop answering (but gossip still says they are alive): the send waits.
        network.cut.withLock { $0 = Set(hosts.filter { $0 !== leader }.map(\.me.node)) }
        let waiting = leader.send(room: Self.room, user: "u", id: "stuck", text: "x")
        try await leader.close().get()
        #expect(try await waiting.get() == .unavailable)
        for host in hosts { try await host.close().get() }
        try await loops.shutdownGracefully()
    }
}
