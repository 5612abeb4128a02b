import Gossip
import Logging
import Synchronization

/// An operator removed this node from the cluster while it seemed dead: it stopped (a restarted
/// process rejoins with an empty state).
public struct RemovedFromCluster: Error, CustomStringConvertible {
    public var node: String
    public var description: String { "\(node) was removed from the cluster by an operator; restart it to rejoin" }
}

/// Operator commands that change the cluster (`chat-node members remove`, `chat-node rooms
/// recover`), with the refusals that keep them from losing acked messages by accident.
extension ChatCluster {
    /// Removes a member that is dead for good from the roster, so that its rooms' groups move
    /// their replicas to the remaining members (a dead member otherwise stays on the ring, and
    /// its groups stay one replica short, until gossip forgets it after a day).
    ///
    /// Refused for this node itself, for a member gossip sees running (it leaves by itself, with
    /// SIGTERM), and, unless `force`, while this node does not reach a majority of the roster:
    /// a node cut off from the majority may be the one that is wrong about who is dead. With
    /// `force` an operator can remove members while most of the cluster is gone; the groups
    /// that lost their majority then need `recover`, which may lose acked messages.
    ///
    /// Returns the member as it was before the removal (already removed: its `.left` record).
    public func removeMember(_ id: String, force: Bool) async throws -> GossipMember {
        guard id != nodeID else {
            throw OperatorRefusal(.conflict, "\(id) is this node; stop it with SIGTERM and it leaves the roster by itself")
        }
        let gossip = state.withLock { $0.gossip }
        guard let gossip, let member = gossip.members.first(where: { $0.id == id }) else {
            throw OperatorRefusal(.notFound, "\(nodeID) knows no member \(id)")
        }
        switch member.status {
        case .left:
            return member
        case .alive, .suspect:
            throw OperatorRefusal(
                .conflict,
                "\(id) is \(member.status.rawValue) as gossip sees it; a running member leaves by itself (SIGTERM), and only a member that is dead for good can be removed"
            )
        case .dead:
            break
        }
        guard force || hasQuorum else {
            throw OperatorRefusal(
                .unavailable,
                "\(nodeID) does not reach a majority of the roster, so it may be wrong about who is dead; ask a node on the majority side, or use --force (which can lose acked messages)"
            )
        }
        await gossip.remove(member: id)
        logger.warning("removed member \(id) from the roster (operator\(force ? ", forced" : ""))")
        return member
    }
}
