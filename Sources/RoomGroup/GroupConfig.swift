/// The voters of a room's group: part of the room's replicated state (a `config` log entry).
///
/// It changes one voter at a time (Raft's single-server changes), so the majorities of two
/// consecutive configurations always overlap. Each replica uses the latest configuration in its
/// log, committed or not, as Raft does. Learners are not listed: the leader replicates to the live
/// members of the room's placement that are not voters, and promotes them with a config entry.
public struct GroupConfig: Sendable, Hashable, CustomStringConvertible {
    public var voters: [ReplicaID]

    public init(voters: [ReplicaID]) {
        self.voters = voters
    }

    public func isVoter(_ replica: ReplicaID) -> Bool { voters.contains(replica) }

    /// Whether `replicas` holds a strict majority of the voters.
    public func isMajority(_ replicas: Set<ReplicaID>) -> Bool {
        guard !voters.isEmpty else { return false }
        return voters.filter { replicas.contains($0) }.count * 2 > voters.count
    }

    public var description: String { "[" + voters.map(\.description).joined(separator: ",") + "]" }
}
