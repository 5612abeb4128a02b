import Testing

@testable import RoomGroup

/// Presence as part of the room's replicated state (`PresenceTable`), under the every-step
/// checker (which also asserts that every replica's reported presence matches its log).
@Suite("Replicated presence", .timeLimit(.minutes(1)))
struct PresenceTests {
    static let second: UInt64 = 1_000_000_000
    /// A node name no simulated client uses, so their random presence updates leave it alone.
    static let far = "far-node"

    static func simulation() -> GroupSimulation {
        var configuration = GroupSimulation.Configuration()
        configuration.seed = 5
        configuration.rooms = 1
        configuration.spares = 0
        configuration.loss = 0
        configuration.duplication = 0
        // Compaction soon, so that a restarted replica catches up from a snapshot.
        configuration.settings.retainedEntries = 8
        return GroupSimulation(configuration: configuration)
    }

    func reported(_ sim: GroupSimulation, on name: String) -> Set<String>? {
        guard let replica = sim.group("room0", on: name)?.me else { return nil }
        return sim.checker.presence["room0"]?[replica]?.users(at: Self.far) ?? []
    }

    func tell(_ sim: GroupSimulation, _ update: PresenceUpdate) throws {
        let leader = try #require(sim.leaders(of: "room0").first?.me.node)
        sim.step(sim.node(leader), room: "room0", .presence(node: Self.far, update))
    }

    @Test("presence survives its leader, and reaches a replica that restarted empty through a snapshot")
    func survivesLeaderAndSnapshot() throws {
        let sim = Self.simulation()
        #expect(sim.run(for: 2 * Self.second))
        try tell(sim, .exactly(["ann", "bob"]))
        #expect(sim.run(for: Self.second))
        let placement = sim.placement(of: "room0")
        for name in placement { #expect(reported(sim, on: name) == ["ann", "bob"], "\(name)") }

        let old = try #require(sim.leaders(of: "room0").first?.me.node)
        sim.crash(old)
        #expect(sim.run(for: 2 * Self.second))
        let new = try #require(sim.leaders(of: "room0").first)
        #expect(new.me.node != old)
        #expect(new.presence.users(at: Self.far) == ["ann", "bob"], "the new leader lost presence")

        try tell(sim, .leave("ann"))
        try tell(sim, .leave("ann"))  // a repeat changes nothing and logs nothing
        #expect(sim.run(for: Self.second))
        sim.restart(old)
        #expect(sim.run(for: 3 * Self.second))
        for name in placement { #expect(reported(sim, on: name) == ["bob"], "\(name)") }
        #expect(sim.snapshotsSent > 0, "the restarted replica was meant to catch up from a snapshot")
        #expect(sim.checker.violation == nil, "\(sim.checker.violation ?? "")")
    }

    @Test("a follower ignores presence updates; only the leader logs them")
    func followerIgnores() throws {
        let sim = Self.simulation()
        #expect(sim.run(for: 2 * Self.second))
        let leader = try #require(sim.leaders(of: "room0").first?.me.node)
        let follower = try #require(sim.placement(of: "room0").first { $0 != leader })
        let before = try #require(sim.group("room0", on: follower)).lastIndex
        sim.step(sim.node(follower), room: "room0", .presence(node: Self.far, .join("cy")))
        #expect(try #require(sim.group("room0", on: follower)).lastIndex == before)
        #expect(sim.run(for: Self.second))
        #expect(reported(sim, on: leader) == [])
    }

    @Test("a table's changes: join, leave and exactly change only what differs")
    func tableChanges() {
        var table = PresenceTable()
        #expect(table.changes(node: "n1", .leave("ann")).isEmpty)
        table.apply(table.changes(node: "n1", .exactly(["ann", "bob"])))
        table.apply(table.changes(node: "n2", .join("ann")))
        #expect(table.perUser == ["ann": 2, "bob": 1])
        #expect(table.changes(node: "n1", .join("ann")).isEmpty)
        let changes = table.changes(node: "n1", .exactly(["bob", "cy"]))
        #expect(changes == [.init(node: "n1", user: "ann", present: false), .init(node: "n1", user: "cy", present: true)])
        table.apply(changes)
        table.apply(table.changes(node: "n2", .exactly([])))
        #expect(table.byNode == ["n1": ["bob", "cy"]])
    }
}
