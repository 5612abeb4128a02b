import Ring
import RoomGroup
import Synchronization

/// Where rooms live and who is alive, as this node's gossip sees it (issue 10's rule 1).
///
/// Placement comes from the **roster**: every member that joined and neither left gracefully
/// nor was forgotten. A dead or suspect member stays on the ring, so a failure never moves a
/// room; it only changes who may lead (liveness). A room's placement is the first
/// `replicationFactor` distinct roster members clockwise from its hash.
struct GroupRoster: Sendable {
    var ring: HashRing
    /// Members gossip says are alive or suspect (this node included).
    var live: Set<String>
    /// The boot id of each roster member's current process, as gossip last said.
    var boots: [String: UInt64]
    let replicationFactor: Int

    func placement(of room: String) -> [String] {
        ring.preferenceList(of: room, count: replicationFactor)
    }

    /// The node that should lead `room` when none is known, and the one that creates it: the
    /// first live member of its placement, in ring order.
    func firstLive(of room: String) -> String? {
        placement(of: room).first { live.contains($0) }
    }

    /// The voters a creator gives `room`'s new group: its placement's current processes (nil
    /// while a member's boot id is unknown). Two nodes whose rosters differ compute different
    /// ones, and neither creates the room until they agree (`GroupRooms.ensureReplica`).
    func genesis(of room: String) -> [ReplicaID]? {
        let placement = placement(of: room)
        let voters = placement.compactMap { node in boots[node].map { ReplicaID(node: node, boot: $0) } }
        return voters.count == placement.count ? voters : nil
    }

    /// The incarnations gossip believes alive (`GroupHost.liveness`).
    var liveReplicas: Set<ReplicaID> {
        Set(live.compactMap { node in boots[node].map { ReplicaID(node: node, boot: $0) } })
    }

    /// A boot id as gossip carries it (base 36), as a replica's incarnation number.
    static func boot(_ string: String?) -> UInt64? {
        string.flatMap { UInt64($0, radix: 36) }
    }
}

/// The roster behind a lock, shared by `GroupRooms` and its host's `placementOf`.
final class SharedRoster: Sendable {
    private let state: Mutex<GroupRoster>

    init(_ roster: GroupRoster) { state = Mutex(roster) }

    func withLock<T>(_ body: (inout GroupRoster) -> T) -> T { state.withLock { body(&$0) } }
}
