import Testing

@testable import Gossip

/// Helpers shared by the simulation tests.
enum Sim {
    static let period = SWIMSettings().protocolPeriod

    static func periods(_ d: Duration) -> Double { Double(d.nanoseconds) / Double(period.nanoseconds) }

    static func log2(_ n: Int) -> Double {
        var x = Double(n)
        var r = 0.0
        while x > 1 {
            x /= 2
            r += 1
        }
        return r
    }

    /// Runs the simulation in slices of one simulated second, yielding in between so that
    /// CPU-heavy simulations running in parallel do not starve other tests (the UDP ones).
    static func run(_ sim: SWIMSimulation, for duration: Duration) async {
        let end = sim.now + duration
        while sim.now < end {
            sim.run(until: min(end, sim.now + .seconds(1)))
            await Task.yield()
        }
    }

    /// Runs until `condition` holds (checked every `checkEvery`), or `timeout`; the time it held.
    static func wait(
        _ sim: SWIMSimulation, checkEvery: Duration = .milliseconds(20), timeout: Duration,
        until condition: (SWIMSimulation) -> Bool
    ) async -> SWIMInstant? {
        let end = sim.now + timeout
        var checks = 0
        while true {
            if condition(sim) { return sim.now }
            if sim.now >= end { return nil }
            sim.run(until: min(end, sim.now + checkEvery))
            checks += 1
            if checks % 20 == 0 { await Task.yield() }
        }
    }

    /// n nodes joining through n0, one every 3 ms; returns once everyone sees everyone alive.
    static func cluster(
        _ n: Int, loss: Double = 0, seed: UInt64, metadata: [String: String]? = nil, settings: SWIMSettings = .init()
    ) async -> (SWIMSimulation, Duration?) {
        var config = SWIMSimulation.Configuration()
        config.loss = loss
        config.seed = seed
        config.settings = settings
        let sim = SWIMSimulation(configuration: config)
        for i in 0..<n {
            sim.addNode(id: "n\(i)", seeds: i == 0 ? [] : ["n0"], metadata: metadata)
            await Sim.run(sim, for: .milliseconds(3))
        }
        let formed = await wait(sim, checkEvery: .milliseconds(50), timeout: .seconds(60)) { $0.runningNodesConverged }
        return (sim, formed.map { $0 - .zero })
    }
}

@Suite("Simulated cluster", .timeLimit(.minutes(1)))
struct SimulationTests {
    @Test(
        "join: every member learns a new member, and it learns everyone, within c·log2 N periods",
        .timeLimit(.minutes(1)), arguments: [50, 100])
    func joinConvergence(n: Int) async throws {
        let (sim, formed) = await Sim.cluster(n, seed: UInt64(n))
        let formation = try #require(formed, "cluster of \(n) did not form")
        // All n joining at once (through one seed) converge within 4·log2 N periods.
        #expect(Sim.periods(formation) <= 4 * Sim.log2(n), "formation took \(Sim.periods(formation)) periods")
        await Sim.run(sim, for: .seconds(2))
        for round in 0..<3 {
            let joiner = "joiner\(round)"
            let start = sim.now
            sim.addNode(id: joiner, seeds: ["n\(round * 17 % n)"])
            let done = await Sim.wait(sim, checkEvery: .milliseconds(10), timeout: .seconds(20)) { sim in
                sim.allRunning(see: joiner, as: .alive)
                    && sim.runningIDs.allSatisfy { $0 == joiner || sim.status(of: $0, at: joiner) == .alive }
            }
            let took = try #require(done.map { $0 - start })
            // Bound: 1.5·log2 N periods (≈ 8.5 for 50, 10 for 100).
            #expect(Sim.periods(took) <= 1.5 * Sim.log2(n), "join took \(Sim.periods(took)) periods")
            await Sim.run(sim, for: .seconds(1))
        }
        #expect(sim.falseDeaths.isEmpty)
    }

    @Test("a killed member is declared dead by every live member within 15 periods (3 s)", .timeLimit(.minutes(1)), arguments: [5, 50])
    func deathDetection(n: Int) async throws {
        for seed in 1...3 {
            let (sim, formed) = await Sim.cluster(n, seed: UInt64(100 + seed))
            try #require(formed != nil)
            await Sim.run(sim, for: .seconds(2))
            let victim = "n\(seed * 3 % n)"
            let start = sim.now
            sim.kill(victim)
            let done = await Sim.wait(sim, checkEvery: .milliseconds(10), timeout: .seconds(20)) { $0.allRunning(see: victim, as: .dead) }
            let took = try #require(done.map { $0 - start }, "never declared dead everywhere")
            #expect(Sim.periods(took) <= 15, "took \(took)")
            #expect(sim.falseDeaths.isEmpty)
            // Everyone else stays alive everywhere.
            #expect(sim.runningNodesConverged)
        }
    }

    @Test("no live member is declared dead at 10 % loss; suspicions are refuted by a higher incarnation", .timeLimit(.minutes(1)))
    func noFalsePositives() async throws {
        let (sim, formed) = await Sim.cluster(20, loss: 0.1, seed: 7)
        try #require(formed != nil)
        var suspicions: [(observer: String, member: GossipMember)] = []
        sim.onMemberChanged = { observer, member, _ in
            if member.status == .suspect { suspicions.append((observer, member)) }
        }
        let before = sim.nodeIDs.map { sim.instance($0).myself.incarnation }
        await Sim.run(sim, for: .seconds(300))
        #expect(sim.falseDeaths.isEmpty, "\(sim.falseDeaths.prefix(5))")
        #expect(sim.runningNodesConverged)
        // Losses do cause suspicions, and each suspected member refuted: its incarnation rose.
        #expect(!suspicions.isEmpty)
        for (_, member) in suspicions {
            #expect(sim.instance(member.id).myself.incarnation > member.incarnation)
        }
        let refuted = zip(sim.nodeIDs, before).filter { sim.instance($0.0).myself.incarnation > $0.1 }.count
        #expect(refuted > 0)
    }

    @Test("a node frozen for 2 s declares nobody dead and is alive everywhere afterwards", .timeLimit(.minutes(1)))
    func freeze() async throws {
        for seed in 1...3 {
            let (sim, formed) = await Sim.cluster(20, loss: seed == 3 ? 0.1 : 0, seed: UInt64(300 + seed))
            try #require(formed != nil)
            await Sim.run(sim, for: .seconds(2))
            let frozen = "n\(seed + 4)"
            let incarnation = sim.instance(frozen).myself.incarnation
            sim.freeze(frozen, for: .seconds(2))
            await Sim.run(sim, for: .seconds(2))
            let back = await Sim.wait(sim, checkEvery: .milliseconds(10), timeout: .seconds(10)) { sim in
                sim.allRunning(see: frozen, as: .alive)
                    && sim.runningIDs.allSatisfy { $0 == frozen || sim.status(of: $0, at: frozen) == .alive }
            }
            #expect(back != nil, "frozen node not alive everywhere again")
            await Sim.run(sim, for: .seconds(10))
            // Nobody but the frozen node was ever declared dead, by anyone (the frozen node included).
            #expect(sim.falseDeaths.filter { $0.subject != frozen }.isEmpty, "\(sim.falseDeaths)")
            #expect(sim.runningNodesConverged)
            #expect(sim.instance(frozen).myself.incarnation > incarnation)
            #expect(sim.instance(frozen).stats.stalls == 1)
        }
    }

    @Test("graceful leave is seen everywhere as .left", .timeLimit(.minutes(1)))
    func leave() async throws {
        let (sim, formed) = await Sim.cluster(30, seed: 11)
        try #require(formed != nil)
        await Sim.run(sim, for: .seconds(1))
        let start = sim.now
        sim.leave("n4")
        let done = await Sim.wait(sim, checkEvery: .milliseconds(10), timeout: .seconds(10)) { $0.allRunning(see: "n4", as: .left) }
        let took = try #require(done.map { $0 - start })
        #expect(took <= .seconds(2))
        await Sim.run(sim, for: .seconds(5))
        #expect(sim.state(of: "n4") == .left)
        #expect(sim.allRunning(see: "n4", as: .left))
        #expect(sim.falseDeaths.isEmpty)
    }

    @Test("an operator's removal of a dead member spreads as .left; a running member cannot be removed", .timeLimit(.minutes(1)))
    func remove() async throws {
        let (sim, formed) = await Sim.cluster(10, seed: 13, metadata: ["boot": "1"])
        try #require(formed != nil)
        // A running member is not removed: nothing is sent and it stays alive everywhere.
        sim.remove("n5", at: "n1")
        await Sim.run(sim, for: .seconds(2))
        #expect(sim.allRunning(see: "n5", as: .alive))
        sim.kill("n4")
        try #require(await Sim.wait(sim, timeout: .seconds(10)) { $0.allRunning(see: "n4", as: .dead) } != nil)
        let start = sim.now
        sim.remove("n4", at: "n1")
        #expect(sim.status(of: "n4", at: "n1") == .left)
        let done = await Sim.wait(sim, checkEvery: .milliseconds(10), timeout: .seconds(10)) { $0.allRunning(see: "n4", as: .left) }
        let took = try #require(done.map { $0 - start }, "the removal never reached every member")
        #expect(took <= .seconds(3))
        // Restarted (a new process: new metadata), it refutes and is a member again.
        sim.restart("n4", seeds: ["n0"], incarnation: 0, metadata: ["boot": "2"])
        #expect(await Sim.wait(sim, timeout: .seconds(10)) { $0.runningNodesConverged } != nil)
        #expect(!sim.instance("n4").removedByOperator)
    }

    @Test("a member removed while cut off learns it when the network heals, and does not rejoin", .timeLimit(.minutes(1)))
    func removedWhileCutOff() async throws {
        let (sim, formed) = await Sim.cluster(5, seed: 14, metadata: ["boot": "1"])
        try #require(formed != nil)
        let others = sim.nodeIDs.filter { $0 != "n3" }
        sim.partition(["n3"], from: others)
        try #require(
            await Sim.wait(sim, timeout: .seconds(10)) { sim in others.allSatisfy { sim.status(of: "n3", at: $0) == .dead } } != nil)
        sim.remove("n3", at: "n1")
        await Sim.run(sim, for: .seconds(2))
        #expect(!sim.instance("n3").removedByOperator)
        sim.heal()
        let told = await Sim.wait(sim, timeout: .seconds(15)) { $0.instance("n3").removedByOperator }
        #expect(told != nil, "n3 never learned it was removed")
        // It does not refute: every other member keeps it as left.
        await Sim.run(sim, for: .seconds(3))
        #expect(others.allSatisfy { sim.status(of: "n3", at: $0) == .left })
    }

    @Test("a crashed node restarted with incarnation 0 comes back alive everywhere", .timeLimit(.minutes(1)))
    func restart() async throws {
        let (sim, formed) = await Sim.cluster(10, seed: 12)
        try #require(formed != nil)
        sim.kill("n3")
        try #require(await Sim.wait(sim, timeout: .seconds(10)) { $0.allRunning(see: "n3", as: .dead) } != nil)
        sim.restart("n3", seeds: ["n0"], incarnation: 0)
        let back = await Sim.wait(sim, timeout: .seconds(5)) { $0.runningNodesConverged }
        #expect(back != nil)
        #expect(sim.instance("n3").myself.incarnation > 0)
    }

    @Test("every datagram fits in 1,400 bytes, with large metadata and full-state exchanges", .timeLimit(.minutes(1)))
    func datagramSize() async throws {
        let metadata = Dictionary(uniqueKeysWithValues: (0..<6).map { ("key-\($0)", String(repeating: "v", count: 40)) })
        var config = SWIMSimulation.Configuration()
        config.seed = 5
        config.loss = 0.05
        let sim = SWIMSimulation(configuration: config)
        var count = 0
        var largest = 0
        sim.onDatagram = { _, bytes, _ in
            count += 1
            largest = max(largest, bytes.count)
        }
        for i in 0..<40 {
            sim.addNode(
                id: "node-with-a-longish-identifier-\(i)", seeds: i == 0 ? [] : ["node-with-a-longish-identifier-0"], metadata: metadata)
        }
        try #require(await Sim.wait(sim, checkEvery: .milliseconds(50), timeout: .seconds(40)) { $0.runningNodesConverged } != nil)
        for i in [3, 9, 27] { sim.kill("node-with-a-longish-identifier-\(i)") }
        sim.leave("node-with-a-longish-identifier-30")
        await Sim.run(sim, for: .seconds(10))
        #expect(count > 10_000)
        #expect(largest <= 1400)
        #expect(sim.largestDatagram == largest)
        #expect(largest > 1200, "full-state chunks should fill datagrams (largest \(largest))")
    }

    @Test("datagrams per node per period do not depend on N (10 vs 100 members)", .timeLimit(.minutes(1)))
    func messagesPerPeriod() async throws {
        func rate(_ n: Int, loss: Double) async throws -> Double {
            let (sim, formed) = await Sim.cluster(n, loss: loss, seed: UInt64(n + 1))
            try #require(formed != nil)
            await Sim.run(sim, for: .seconds(3))
            let before = sim.datagramsSent
            let duration = Duration.seconds(20)
            await Sim.run(sim, for: duration)
            return Double(sim.datagramsSent - before) / Double(n) / Sim.periods(duration)
        }
        let small = try await rate(10, loss: 0)
        let large = try await rate(100, loss: 0)
        // One ping and, on average, one ack per node per period, whatever N.
        #expect(abs(large - small) / small < 0.1, "10 members: \(small), 100 members: \(large)")
        #expect(large < 2.5)
        // With 10 % loss (suspicions and refutations to spread), still a small constant.
        let lossy = try await rate(30, loss: 0.1)
        #expect(lossy < 6, "30 members at 10% loss: \(lossy)")
    }

    @Test("datagrams that do not open are dropped and counted; a node with the wrong secret never joins", .timeLimit(.minutes(1)))
    func authentication() async throws {
        let (sim, formed) = await Sim.cluster(5, seed: 21)
        try #require(formed != nil)
        var good = GossipSealer(secrets: [sim.configuration.secret])
        let forged = SWIMMessage(
            senderID: "intruder", senderIncarnation: 99, kind: .sync(replyRequested: true),
            updates: [SWIMUpdate(member: GossipMember(id: "intruder", address: GossipAddress(host: "6.6.6.6", port: 1)))])
        let payload = SWIMCodec.encode(forged)
        let nowMs = sim.now.nanoseconds / 1_000_000
        var tampered = good.seal(payload, sentAtMs: nowMs)
        tampered[30] ^= 0xFF
        var guess = GossipSealer(secrets: ["guess"])
        let wrongSecret = guess.seal(payload, sentAtMs: nowMs)
        let from = GossipAddress(host: "6.6.6.6", port: 1)
        for bytes in [tampered, wrongSecret, payload, [], [1, 2, 3]] { sim.inject(bytes, to: "n1", from: from) }
        #expect(sim.endpoint("n1").badDatagrams == 5)
        #expect(sim.instance("n1").member("intruder") == nil)

        // A whole node with another secret, seeded with a member of the cluster.
        sim.addNode(id: "outsider", seeds: ["n0", "n1"], secret: "wrong")
        await Sim.run(sim, for: .seconds(10))
        for id in ["n0", "n1", "n2", "n3", "n4"] {
            #expect(sim.instance(id).member("outsider") == nil)
        }
        #expect(sim.endpoint("n0").badDatagrams > 0)
        #expect(!sim.instance("outsider").isJoined)
        #expect(sim.instance("outsider").members.map(\.id) == ["outsider"])
    }

    @Test("a captured datagram sent again changes nothing: replays are dropped, late ones are stale", .timeLimit(.minutes(1)))
    func replays() async throws {
        let (sim, formed) = await Sim.cluster(5, seed: 23)
        try #require(formed != nil)
        // A datagram as a member would seal it (made here with the secret, as if captured on the
        // wire): it announces a member "ghost" that never answers.
        var member = GossipSealer(secrets: [sim.configuration.secret])
        let ghost = GossipMember(id: "ghost", address: GossipAddress(host: "10.9.9.9", port: 7946))
        let news = SWIMMessage(
            senderID: "n0", senderIncarnation: sim.instance("n0").myself.incarnation, kind: .gossip, updates: [SWIMUpdate(member: ghost)])
        let captured = member.seal(SWIMCodec.encode(news), sentAtMs: sim.now.nanoseconds / 1_000_000)
        let from = sim.instance("n0").myself.address
        sim.inject(captured, to: "n1", from: from)
        await Sim.run(sim, for: .milliseconds(100))
        #expect(sim.instance("n1").member("ghost") != nil, "the first delivery is news")
        // Gossip declares the ghost dead; a replay within the window must not bring it back.
        await Sim.run(sim, for: .seconds(15))
        let status = sim.instance("n1").member("ghost")?.status
        #expect(status != .alive)
        let replayedBefore = sim.endpoint("n1").replayedDatagrams
        sim.inject(captured, to: "n1", from: from)
        await Sim.run(sim, for: .milliseconds(100))
        #expect(sim.endpoint("n1").replayedDatagrams == replayedBefore + 1)
        #expect(sim.instance("n1").member("ghost")?.status == status)
        // After the window (30 s) the same bytes are stale, on any node.
        await Sim.run(sim, for: .seconds(20))
        sim.inject(captured, to: "n2", from: from)
        await Sim.run(sim, for: .milliseconds(100))
        #expect(sim.endpoint("n2").replayedDatagrams == 1)
        #expect(sim.endpoint("n1").badDatagrams == 0)
    }

    @Test("the simulation replays exactly from its seed", .timeLimit(.minutes(1)))
    func determinism() async {
        func run() async -> [String] {
            let (sim, _) = await Sim.cluster(12, loss: 0.1, seed: 99)
            sim.kill("n3")
            sim.freeze("n4", for: .seconds(2))
            await Sim.run(sim, for: .seconds(20))
            return sim.nodeIDs.map { id in
                let i = sim.instance(id)
                return
                    "\(id) \(sim.datagramsSent(by: id)) \(i.myself.incarnation) \(i.members.map { "\($0.id):\($0.status):\($0.incarnation)" })"
            } + ["\(sim.datagramsSent) \(sim.datagramsLost)"]
        }
        let first = await run()
        let second = await run()
        #expect(first == second)
    }
}
