import Testing

@testable import Gossip

/// Gossip always heals: partitions of any length (symmetric or one-way, with or without loss),
/// and a node that comes back under a new address. Once the network is whole again, every
/// running node sees every other running node alive within a few protocol periods, whether or not
/// the seeds are among the nodes that came back. Each case runs over several seeds; a failure
/// names its seed, and the same seed replays exactly.
@Suite("Partition healing (simulated)", .timeLimit(.minutes(2)))
struct PartitionHealingTests {
    /// Healing bound: 15 periods (3 s). Dead members are re-probed one per second, so two sides
    /// of two nodes each find each other in 1 to 2 s, then one or two rounds of corrections and
    /// refutations spread the news.
    static let healBound: Duration = .seconds(3)

    /// Heals the network now and returns how long it took until every running node saw every
    /// other running node alive (fails the test, naming the seed, if that never happens).
    static func healAndMeasure(_ sim: SWIMSimulation, seed: UInt64) async throws -> Duration {
        let healedAt = sim.now
        sim.heal()
        let converged = await Sim.wait(sim, timeout: .seconds(30)) { $0.runningNodesConverged }
        return try #require(converged.map { $0 - healedAt }, "seed \(seed): never converged after healing")
    }

    /// Five nodes joined through n0; n0 is then killed for good, so the seed every node knows is
    /// gone. The other four split 2 | 2 for `length`, then the network heals.
    @Test(
        "a symmetric partition of any length heals without the seed (2 | 2, seed dead)",
        arguments: [(Duration.seconds(40), UInt64(1)), (.seconds(40), 2), (.seconds(600), 3), (.seconds(600), 4), (.seconds(3600), 5)])
    func symmetricWithoutSeed(length: Duration, seed: UInt64) async throws {
        let (sim, formed) = await Sim.cluster(5, seed: seed)
        try #require(formed != nil, "seed \(seed): cluster did not form")
        sim.kill("n0")
        try #require(await Sim.wait(sim, timeout: .seconds(10)) { $0.allRunning(see: "n0", as: .dead) } != nil)
        sim.partition(["n1", "n2"], from: ["n3", "n4"])
        await Sim.run(sim, for: length)
        // Both sides declared the other dead (the partition was real).
        #expect(sim.status(of: "n3", at: "n1") == .dead, "seed \(seed)")
        #expect(sim.status(of: "n1", at: "n4") == .dead, "seed \(seed)")
        let took = try await Self.healAndMeasure(sim, seed: seed)
        #expect(took <= Self.healBound, "seed \(seed): converged \(took) after healing")
    }

    @Test("a one-way partition (one node hears nothing) heals", arguments: [UInt64(11), 12, 13])
    func oneWay(seed: UInt64) async throws {
        let (sim, formed) = await Sim.cluster(3, seed: seed)
        try #require(formed != nil)
        sim.partition(["n1", "n2"], from: ["n0"], oneWay: true)
        await Sim.run(sim, for: .seconds(40))
        let took = try await Self.healAndMeasure(sim, seed: seed)
        #expect(took <= Self.healBound, "seed \(seed): converged \(took) after healing")
    }

    @Test("an isolated node (1 | 2) at 10 % loss heals", arguments: [UInt64(21), 22, 23])
    func isolatedWithLoss(seed: UInt64) async throws {
        let (sim, formed) = await Sim.cluster(3, loss: 0.1, seed: seed)
        try #require(formed != nil)
        sim.partition(["n2"], from: ["n0", "n1"])
        await Sim.run(sim, for: .seconds(40))
        #expect(sim.status(of: "n2", at: "n0") == .dead, "seed \(seed)")
        let took = try await Self.healAndMeasure(sim, seed: seed)
        // Loss can cost a re-probe or a correction: twice the bound.
        #expect(took <= Self.healBound * 2, "seed \(seed): converged \(took) after healing")
    }

    @Test("a node restarted under a new address is alive at that address everywhere", arguments: [UInt64(31), 32])
    func newAddress(seed: UInt64) async throws {
        let (sim, formed) = await Sim.cluster(4, seed: seed)
        try #require(formed != nil)
        sim.kill("n3")
        try #require(await Sim.wait(sim, timeout: .seconds(10)) { $0.allRunning(see: "n3", as: .dead) } != nil)
        let address = GossipAddress(host: "10.9.9.9", port: 7946)
        sim.restart("n3", at: address, seeds: ["n1"], incarnation: 1)
        let converged = await Sim.wait(sim, timeout: .seconds(10)) { $0.runningNodesConverged }
        #expect(converged != nil, "seed \(seed)")
        for observer in ["n0", "n1", "n2"] {
            #expect(sim.instance(observer).member("n3")?.address == address, "seed \(seed): \(observer)")
        }
    }

    @Test("dead members are re-probed at most once per interval, and not at all when none is dead")
    func reprobeCost() async throws {
        let (sim, formed) = await Sim.cluster(5, seed: 41)
        try #require(formed != nil)
        let before = sim.instance("n1").stats.deadProbes
        await Sim.run(sim, for: .seconds(10))
        #expect(sim.instance("n1").stats.deadProbes == before)
        sim.kill("n0")
        try #require(await Sim.wait(sim, timeout: .seconds(10)) { $0.allRunning(see: "n0", as: .dead) } != nil)
        let start = sim.instance("n1").stats.deadProbes
        await Sim.run(sim, for: .seconds(20))
        let probes = sim.instance("n1").stats.deadProbes - start
        #expect(probes >= 18 && probes <= 21, "\(probes) re-probes in 20 s")
    }
}
