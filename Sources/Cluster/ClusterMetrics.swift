import Metrics
import Synchronization

/// The cluster layer's metrics (Prometheus names).
enum ClusterMetrics {
    static let sequenced = Counter(label: "chat_messages_sequenced_total")
    static let duplicates = Counter(label: "chat_messages_duplicate_total")
    static let delivered = Counter(label: "chat_messages_delivered_total")
    static let forwarded = Counter(label: "chat_cluster_forwarded_total")
    static let pushed = Counter(label: "chat_cluster_pushed_total")
    static let roomLoadFailures = Counter(label: "chat_room_load_failures_total")
    static let rooms = Gauge(label: "chat_rooms")
    static let roomsRefused = Counter(label: "chat_rooms_refused_total")
    /// 1 while this node sees a majority of the roster (`RosterQuorum`), else 0.
    static let quorum = Gauge(label: "chat_cluster_quorum")

    static func quorumChanged(_ holds: Bool) { quorum.record(holds ? 1 : 0) }
    static let linksUp = Gauge(label: "chat_cluster_links_up")
    private static let linksUpCount = Atomic<Int>(0)

    /// Records a link going up (+1) or down (-1).
    static func linkChanged(by delta: Int) {
        linksUp.record(linksUpCount.add(delta, ordering: .relaxed).newValue)
    }
    static let linkRejected = Counter(label: "chat_cluster_link_rejected_total")
    static let ownerChanges = Counter(label: "chat_cluster_room_owner_changes_total")
    /// Whole-state transfers to a successor (a new owner, a new successor, or a resync).
    static let replicaSyncs = Counter(label: "chat_replica_syncs_total")
    /// Replication requests that found no successor answering (retried).
    static let replicationRetries = Counter(label: "chat_replication_retries_total")
    /// Rooms taken over, by how (`hand_off`, `promote`, `load`).
    static let takeOvers = ["hand_off", "promote", "load"].reduce(into: [String: Counter]()) {
        $0[$1] = Counter(label: "chat_room_takeovers_total", dimensions: [("how", $1)])
    }
    /// Room replicas held here (groups mode), those whose group has no live majority as this
    /// node sees it (writes to them answer `unavailable`), and those whose majority is gone for
    /// good (only `chat-node rooms recover` brings them back). Recorded when `/metrics` or
    /// `/cluster` is read.
    static let groupReplicas = Gauge(label: "chat_group_replicas")
    static let groupsWithoutMajority = Gauge(label: "chat_group_replicas_without_majority")
    static let groupsQuorumLost = Gauge(label: "chat_group_replicas_quorum_lost")
    /// Replication refused by this node as a replica (a stale owner was fenced off).
    static let replicaRefusals = Counter(label: "chat_replica_refusals_total")

    /// Creates every metric at zero so `/metrics` lists them from the start.
    static func register() {
        for counter in [
            sequenced, duplicates, delivered, forwarded, pushed, roomLoadFailures, linkRejected, ownerChanges, replicaSyncs,
            replicationRetries, replicaRefusals, roomsRefused,
        ] + takeOvers.values {
            counter.increment(by: 0)
        }
        rooms.record(0)
        for gauge in [groupReplicas, groupsWithoutMajority, groupsQuorumLost] { gauge.record(0) }
        linksUp.record(0)
        quorum.record(1)
    }
}
