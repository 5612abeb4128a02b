import Testing

@testable import RoomGroup

/// Amnesia and operator recovery (`RoomGroup+Recovery`), under the every-step checker.
@Suite("Groups that lost a majority for good", .timeLimit(.minutes(1)))
struct RecoveryTests {
    static let second: UInt64 = 1_000_000_000

    /// One room of three replicas on five nodes, no spares, no lost store writes unless asked.
    static func simulation(storeLoss: Double = 0) -> GroupSimulation {
        var configuration = GroupSimulation.Configuration()
        configuration.seed = 11
        configuration.rooms = 1
        configuration.spares = 0
        configuration.loss = 0
        configuration.duplication = 0
        configuration.storeLoss = storeLoss
        return GroupSimulation(configuration: configuration)
    }

    /// Crashes two of the room's three voters and restarts them (new boots, empty): the survivor.
    static func loseMajority(_ sim: GroupSimulation) throws -> String {
        #expect(sim.run(for: 2 * second))
        let placement = sim.placement(of: "room0")
        let survivor = try #require(placement.last)
        for name in placement.dropLast() {
            sim.crash(name)
            sim.restart(name)
        }
        #expect(sim.run(for: 2 * second))
        return survivor
    }

    @Test("a majority restarted with amnesia: unavailable until recovered, then writable past the skipped seqs")
    func recoverAfterAmnesia() throws {
        let sim = Self.simulation()
        let survivor = try Self.loseMajority(sim)
        let before = try #require(sim.group("room0", on: survivor))
        #expect(before.status.quorumLost)
        #expect(sim.leaders(of: "room0").isEmpty, "a group without a majority must not lead")
        let acked = sim.checker.acks
        #expect(sim.run(for: 2 * Self.second))
        #expect(sim.checker.acks == acked, "a group without a majority acked a send")

        let committed = sim.checker.committedSeq("room0")
        let reply = sim.recover("room0", on: survivor)
        guard case .recovered(let lostAfter, let resumeAfter) = reply else {
            Issue.record("recovery answered \(String(describing: reply))")
            return
        }
        // No store write was lost: the room continues from everything committed, and the
        // skipped seqs follow it (and any uncommitted seq the survivor held: it may have been acked).
        #expect(lostAfter == committed)
        #expect(resumeAfter >= lostAfter + sim.configuration.recoverySkip)
        #expect(sim.run(for: 2 * Self.second))
        #expect(sim.expectProgress(), "\(sim.checker.violation ?? "")")
        let next = sim.checker.committedMessages("room0").first { $0.seq > lostAfter }
        #expect(next?.seq == resumeAfter + 1, "the first new message must follow the skipped seqs")
        // The group grew back to its placement through its own log.
        let leader = try #require(sim.leaders(of: "room0").first)
        #expect(leader.status.voters.count == 3, "\(leader.status.voters)")
        #expect(sim.checker.violation == nil, "\(sim.checker.violation ?? "")")
    }

    @Test("recovery takes the store's committed messages beyond the survivor and reports what may be lost")
    func recoverFromStore() throws {
        let sim = Self.simulation()
        #expect(sim.run(for: 2 * Self.second))
        let placement = sim.placement(of: "room0")
        let survivor = try #require(placement.last)
        // The survivor misses the last commits: it is cut off while the others go on.
        sim.isolate(survivor)
        #expect(sim.run(for: 2 * Self.second))
        for name in placement.dropLast() {
            sim.crash(name)
            sim.restart(name)
        }
        sim.healNetwork()
        #expect(sim.run(for: 2 * Self.second))
        let behind = try #require(sim.group("room0", on: survivor)).status.committedSeq
        let committed = sim.checker.committedSeq("room0")
        #expect(committed > behind, "the survivor should have missed commits")
        let reply = sim.recover("room0", on: survivor)
        guard case .recovered(let lostAfter, _) = reply else {
            Issue.record("recovery answered \(String(describing: reply))")
            return
        }
        // Every committed message was persisted (no lost writes): all of them come back.
        #expect(lostAfter == committed)
        #expect(sim.checker.lostInRecovery == 0)
        #expect(sim.run(for: 2 * Self.second))
        #expect(sim.expectProgress(), "\(sim.checker.violation ?? "")")
    }

    @Test("a new leader writes the recently committed messages its predecessor may not have stored")
    func newLeaderStoresAgain() throws {
        var configuration = Self.simulation().configuration
        configuration.settings.retainedEntries = 1024  // the node's: the tail covers the unwritten ones
        let sim = GroupSimulation(configuration: configuration)
        #expect(sim.run(for: 2 * Self.second))
        let before = sim.checker.committedSeq("room0")
        // The leader's last writes die (as if still queued in a process about to crash).
        sim.storeDown = true
        #expect(sim.run(for: Self.second / 2))
        let committed = sim.checker.committedSeq("room0")
        #expect(committed > before)
        #expect(sim.store["room0", default: [:]].keys.max() ?? 0 <= before)
        sim.storeDown = false
        let old = try #require(sim.leaders(of: "room0").first?.me.node)
        sim.crash(old)
        #expect(sim.run(for: 2 * Self.second))
        #expect(sim.leaders(of: "room0").first.map { $0.me.node != old } == true)
        let stored = Set(sim.store["room0", default: [:]].keys)
        let missing = (1...committed).filter { !stored.contains($0) }
        #expect(missing.isEmpty, "not stored after the new leader took over: \(missing)")
        #expect(sim.checker.violation == nil, "\(sim.checker.violation ?? "")")
    }

    @Test("recovery is refused while a majority may come back (paused, not restarted)")
    func refusedWhileVotersMayReturn() throws {
        let sim = Self.simulation()
        #expect(sim.run(for: 2 * Self.second))
        let placement = sim.placement(of: "room0")
        for name in placement.dropLast() { sim.pause(name) }
        #expect(sim.run(for: Self.second))
        let reply = sim.recover("room0", on: placement.last!)
        guard case .refused = reply else {
            Issue.record("recovery with a majority paused answered \(String(describing: reply))")
            return
        }
        for name in placement.dropLast() { sim.resume(name) }
        #expect(sim.run(for: 2 * Self.second))
        #expect(sim.expectProgress(), "\(sim.checker.violation ?? "")")
        #expect(sim.recoveries == 0)
    }
}
