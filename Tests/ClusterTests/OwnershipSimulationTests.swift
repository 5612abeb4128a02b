import ChatCore
import Ring
import Synchronization
import Testing

@testable import Cluster

/// Random runs of sends, retries, kills, restarts and graceful leaves over four in-memory nodes,
/// with rings that change one node at a time. After every step the acks must agree (one seq per
/// id, one id per seq); at the end every acked message is in its room's committed log, in order,
/// with no gap. A failure names its seed, and the same seed replays the same run.
@Suite("Ownership simulation: kills, restarts and leaves never lose or reorder an ack", .timeLimit(.minutes(2)))
struct OwnershipSimulationTests {
    let all = ["a", "b", "c", "d"]
    let rooms = (0..<6).map { "room\($0)" }

    @Test(arguments: Array(UInt64(1)...12))
    func randomFaultsKeepEveryAck(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        let cluster = InMemoryCluster(all)
        var live = all
        var acked: [String: [String: UInt64]] = [:]  // room -> id -> seq
        var next = 0
        var faults = 0
        var trace: [String] = []
        for step in 0..<300 {
            let roll = rng.next() % 100
            if roll < 8, live.count == all.count {
                // Kill -9 (never two nodes down at once: one replica per room).
                let victim = live[Int(rng.next() % UInt64(live.count))]
                live = cluster.kill(victim)
                trace.append("kill \(victim)")
                faults += 1
            } else if roll < 14, live.count < all.count {
                // Restart the missing node (a fresh process); the others learn it in random order.
                let back = all.first { !live.contains($0) }!
                cluster.add(back)
                live = all
                cluster.setRing(live, on: live.shuffled(using: &rng))
                trace.append("restart \(back)")
                faults += 1
            } else if roll < 18, live.count == all.count {
                // SIGTERM: hand off, then leave.
                let leaver = live[Int(rng.next() % UInt64(live.count))]
                await cluster.owner(leaver).handOffAll(timeout: .seconds(1))
                live.removeAll { $0 == leaver }
                cluster.setRing(live, on: live.shuffled(using: &rng))
                cluster.setReachable(leaver, false)
                cluster.nodes.withLock { _ = $0.removeValue(forKey: leaver) }
                trace.append("leave \(leaver)")
                faults += 1
            } else if roll < 30, let room = acked.keys.sorted().randomElement(using: &rng),
                let (id, seq) = acked[room]?.sorted(by: { $0.key < $1.key }).randomElement(using: &rng)
            {
                let owner = try #require(cluster.ownerOf(room, on: live[0]))
                let retry = try await cluster.owner(owner).sendRetrying(room: room, user: "u", id: id, attempts: 400)
                trace.append("retry \(room)/\(id) at \(owner): \(retry.seq)")
                #expect(retry.seq == seq && retry.duplicate, "seed \(seed) step \(step): retry of \(room)/\(id): \(trace.suffix(12))")
                continue
            } else {
                let room = rooms[Int(rng.next() % UInt64(rooms.count))]
                next += 1
                let id = "m\(next)"
                let owner = try #require(cluster.ownerOf(room, on: live[0]))
                let ack = try await cluster.owner(owner).sendRetrying(room: room, user: "u", id: id, attempts: 400)
                trace.append("send \(room)/\(id) at \(owner): \(ack.seq)")
                #expect(!ack.duplicate, "seed \(seed) step \(step)")
                #expect(
                    !(acked[room]?.values.contains(ack.seq) ?? false),
                    "seed \(seed) step \(step): seq \(ack.seq) of \(room) acked twice: \(trace.suffix(12))")
                acked[room, default: [:]][id] = ack.seq
                continue
            }
            try await cluster.settle()
        }
        try await cluster.settle()
        #expect(faults > 5, "seed \(seed): the run injected faults")
        for (room, ids) in acked {
            let owner = try #require(cluster.ownerOf(room, on: live[0]))
            let log = try await cluster.owner(owner).committed(room)
            #expect(log.map(\.seq) == Array(1...UInt64(log.count)), "seed \(seed): \(room) has a gap or a repeat")
            let bySeq = Dictionary(uniqueKeysWithValues: log.map { ($0.seq, $0.id) })
            for (id, seq) in ids {
                #expect(bySeq[seq] == id, "seed \(seed): acked \(room)/\(id) at \(seq), log has \(bySeq[seq] ?? "nothing")")
            }
        }
    }
}
