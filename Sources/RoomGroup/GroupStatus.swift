/// What one replica says about its room (for `/rooms/{room}` and operators).
public struct GroupStatus: Sendable, Hashable {
    public enum Role: String, Sendable {
        case leader, candidate, follower
    }

    public var role: Role
    public var epoch: Epoch
    public var leader: ReplicaID?
    public var commitIndex: Int
    public var lastIndex: Int
    public var committedSeq: UInt64
    public var voters: [ReplicaID]
    /// Whether this replica sees a majority of the voters alive.
    public var majorityAlive: Bool
    /// A majority of the voters is gone for good (gossip shows newer incarnations or nobody):
    /// the room stays unavailable until an operator recovers it.
    public var quorumLost: Bool
}

extension RoomGroup {
    public var status: GroupStatus {
        let role: GroupStatus.Role = leadership != nil ? .leader : (campaign != nil ? .candidate : .follower)
        let config = latestConfig?.config ?? GroupConfig(voters: [])
        // Gone for good: gossip shows a newer incarnation of the voter's node (its state died with
        // the old process), or the node is dead and no longer in the room's placement (removed
        // from the roster). A dead voter still placed may be paused and come back.
        let superseded = config.voters.filter { voter in
            if let boot = aliveBoot[voter.node] { return boot != voter.boot }
            return !placement.isEmpty && !placement.contains(voter.node)
        }
        return GroupStatus(
            role: role, epoch: promised, leader: leaderHint, commitIndex: commitIndex, lastIndex: lastIndex,
            committedSeq: seq(through: commitIndex), voters: config.voters, majorityAlive: config.isMajority(alive),
            quorumLost: !config.voters.isEmpty && (config.voters.count - superseded.count) * 2 <= config.voters.count)
    }

    public var isLeader: Bool { leadership != nil }

    /// The leader this replica follows or was last told of, if gossip says it is alive.
    public var knownLeader: String? {
        if leadership != nil { return me.node }
        guard let hint = leaderHint, alive.contains(hint) else { return nil }
        return hint.node
    }

    /// Whether this replica holds anything of the room (a creator must not start a room that
    /// some replica already holds).
    public var holdsLog: Bool { lastIndex > 0 }

    /// The epoch this replica leads, if it leads.
    public var leaderEpoch: Epoch? { leadership?.epoch }

    /// The entry at `index` (read-only, for checkers and tests); nil when compacted or absent.
    public func entry(at index: Int) -> LogEntry? { log.entry(at: index) }

    /// The last compacted index (0: nothing compacted) and the seq through it.
    public var compactedIndex: Int { log.baseIndex }
    public var compactedSeq: UInt64 { log.base.lastSeq }

    public var committedIndex: Int { commitIndex }

    public var promisedEpoch: Epoch { promised }
}
