import ChatCore
import History
import Logging
import NIOCore
import NIOPosix
import RoomGroup
import Synchronization
import Testing

@testable import Cluster

/// Creating a room's group (`GroupRooms.ensureReplica`): the first live member of the placement
/// creates it only when every live member answered, none holds it, none computes another genesis
/// from its roster, and a majority agrees. Probes are scripted; the groups run on a real loop.
@Suite("Creating a room's group", .timeLimit(.minutes(1)))
struct GroupCreationTests {
    static let nodes = ["n1", "n2", "n3"]
    static let boots: [String: UInt64] = ["n1": 1, "n2": 2, "n3": 3, "n4": 4]

    static func rooms(
        _ loop: any EventLoop, me: String = "n1", roster: [String] = nodes, live: Set<String>? = nil,
        answers: [String: InternalFrame.GroupProbeAnswer] = [:]
    ) -> GroupRooms {
        let rooms = GroupRooms(
            me: ReplicaID(node: me, boot: boots[me]!), eventLoop: loop, replicationFactor: 3, virtualNodes: 16,
            configuration: .init(), history: MemoryHistoryStore(), logger: Logger(label: "test"), wallClock: { 0 },
            send: { _, _ in }, probe: { node, _, _ in answers[node] }, bootOf: { _ in "" })
        rooms.update(roster: roster, live: live ?? Set(roster), boots: boots.filter { roster.contains($0.key) })
        return rooms
    }

    /// A room whose placement starts at `creator` (so it creates the room).
    static func firstRoom(of creator: String, in rooms: GroupRooms) -> String {
        var i = 0
        while rooms.roster.withLock({ $0.placement(of: "room-\(i)").first }) != creator { i += 1 }
        return "room-\(i)"
    }

    func unavailable(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as ProtocolError where error.code == .unavailable {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test("every member agrees: the group is created with the placement's processes as voters")
    func created() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let rooms = Self.rooms(group.next(), answers: ["n2": .agrees, "n3": .agrees])
        let room = Self.firstRoom(of: "n1", in: rooms)
        try await rooms.ensureReplica(room)
        let status = try #require(await rooms.status(of: room))
        #expect(status.voters.map(\.node).sorted() == Self.nodes)
        try await group.shutdownGracefully()
    }

    @Test("a member whose roster differs disagrees, and nobody creates the room")
    func disagreement() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let creator = Self.rooms(group.next(), answers: ["n2": .agrees, "n3": .agrees])
        // n3 has heard of n4 already: for a room n4 joins the placement of, its genesis differs.
        let other = Self.rooms(group.next(), me: "n3", roster: Self.nodes + ["n4"])
        var i = 0
        while creator.roster.withLock({ $0.placement(of: "room-\(i)") }) == other.roster.withLock({ $0.placement(of: "room-\(i)") })
            || creator.roster.withLock({ $0.placement(of: "room-\(i)").first }) != "n1"
        {
            i += 1
        }
        let room = "room-\(i)"
        let offered = try #require(creator.roster.withLock { $0.genesis(of: room) })
        let same = Self.rooms(group.next(), me: "n3")
        #expect(await same.probeAnswer(room, voters: offered) == .agrees)
        #expect(await other.probeAnswer(room, voters: offered) == .disagrees)

        let refused = Self.rooms(group.next(), answers: ["n2": .agrees, "n3": .disagrees])
        let why = await unavailable { try await refused.ensureReplica(room) }
        #expect(why?.contains("n3 see other replicas") == true, "\(why ?? "created")")
        #expect(await refused.status(of: room) == nil)
        try await group.shutdownGracefully()
    }

    @Test("a live member that does not answer holds creation back; one gossip says is dead does not")
    func silence() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let waiting = Self.rooms(group.next(), answers: ["n2": .agrees])
        let room = Self.firstRoom(of: "n1", in: waiting)
        let why = await unavailable { try await waiting.ensureReplica(room) }
        #expect(why?.contains("n3 did not answer") == true, "\(why ?? "created")")
        #expect(await waiting.status(of: room) == nil)

        let dead = Self.rooms(group.next(), live: ["n1", "n2"], answers: ["n2": .agrees])
        try await dead.ensureReplica(room)
        #expect(await dead.status(of: room) != nil)

        let alone = Self.rooms(group.next(), live: ["n1"], answers: [:])
        let lonely = await unavailable { try await alone.ensureReplica(room) }
        #expect(lonely?.contains("majority") == true, "\(lonely ?? "created")")
        try await group.shutdownGracefully()
    }

    @Test("a member that holds the room: the asker learns it instead of creating it")
    func held() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let rooms = Self.rooms(group.next(), answers: ["n2": .holds, "n3": .agrees])
        let room = Self.firstRoom(of: "n1", in: rooms)
        try await rooms.ensureReplica(room)
        let status = try #require(await rooms.status(of: room))
        #expect(status.voters.isEmpty && status.lastIndex == 0, "\(status)")
        try await group.shutdownGracefully()
    }
}
