import Gossip

/// Whether this node may order rooms: only while it sees a majority of the cluster's roster.
///
/// The roster is every member gossip knows that has not left gracefully: dead members stay in it
/// (gossip keeps them for `SWIMSettings.reconnectTimeout`), because a member that is merely cut off
/// is still ordering rooms on its side of a partition. A node that sees only a minority of the
/// roster (itself included, suspects counted as seen) orders nothing, so that the two sides of a
/// partition can never both order the same room: the majority side takes the minority's rooms
/// over from their replicas, and the minority answers `unavailable` until the partition heals.
///
/// What this does not cover (majority replica groups do, issue 10): with replicas on the
/// minority side (five nodes split two and three), messages acked there between the cut and its
/// detection (the suspicion timeout) can still be lost. A roster of one orders alone; a roster
/// of two needs both members.
public struct RosterQuorum: Sendable, Hashable {
    public var roster: Set<String>
    public var seen: Set<String>

    /// The quorum of node `me` given gossip's members (which include `me` once gossip runs).
    /// Members in `unreachable` are not counted as seen whatever gossip says: their internal
    /// link dropped or went silent (`PeerLink.silenceLimit`), which shows a cut long before
    /// gossip's suspicion timeout does.
    public init(members: [GossipMember], me: String, unreachable: Set<String> = []) {
        roster = [me]
        seen = [me]
        for member in members where member.status != .left {
            roster.insert(member.id)
            if member.status.isActive && !unreachable.contains(member.id) { seen.insert(member.id) }
        }
    }

    /// A strict majority of the roster is seen.
    public var holds: Bool { seen.count * 2 > roster.count }

    public var description: String {
        "sees \(seen.count) of \(roster.count) members (\(seen.sorted().joined(separator: ", ")))"
    }
}
