import ChatCore

/// A room's state as it crosses the network: to the successor that replicates it, and to a new
/// owner that takes it over (hand-off or failover).
///
/// `epoch` numbers the room's ownerships: each node that starts ordering the room takes one
/// more than the highest epoch it found, so a replica can tell the current owner from a stale one
/// (`ReplicaRules`). With the owner's id next to it, this is the room's epoch of DESIGN.md.
public struct RoomTransfer: Sendable, Hashable {
    public var room: String
    public var epoch: UInt64
    public var snapshot: RoomStateMachine.Snapshot
    /// Sessions per node and user: presence travels with the room.
    public var sessions: [NodeSessions]

    public init(room: String, epoch: UInt64, snapshot: RoomStateMachine.Snapshot, sessions: [NodeSessions]) {
        self.room = room
        self.epoch = epoch
        self.snapshot = snapshot
        self.sessions = sessions
    }
}

/// How many sessions `user` has in a room on `node`, registered while `node` ran as `boot` (its
/// process's boot id: sessions of an earlier process of a restarted node are not carried over).
public struct NodeSessions: Sendable, Hashable {
    public var node: String
    public var user: String
    public var count: UInt32
    public var boot: String

    public init(node: String, user: String, count: UInt32, boot: String = "") {
        self.node = node
        self.user = user
        self.count = count
        self.boot = boot
    }
}

/// Sessions per node, then per user (the owner's view of a room's presence).
typealias SessionTable = [String: [String: UInt32]]

extension SessionTable {
    init(_ list: [NodeSessions]) {
        self.init()
        for entry in list where entry.count > 0 { self[entry.node, default: [:]][entry.user] = entry.count }
    }

    func list(boots: [String: String]) -> [NodeSessions] {
        flatMap { node, users in users.map { NodeSessions(node: node, user: $0.key, count: $0.value, boot: boots[node] ?? "") } }
            .sorted { ($0.node, $0.user) < ($1.node, $1.user) }
    }

    /// The boot id each node's sessions were registered under.
    static func boots(_ list: [NodeSessions]) -> [String: String] {
        var boots: [String: String] = [:]
        for entry in list { boots[entry.node] = entry.boot }
        return boots
    }

    /// Sessions per user over every node.
    var perUser: [String: Int] {
        var totals: [String: Int] = [:]
        for users in values { for (user, count) in users { totals[user, default: 0] += Int(count) } }
        return totals
    }
}
