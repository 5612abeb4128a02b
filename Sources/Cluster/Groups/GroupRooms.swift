import ChatCore
import History
import Logging
import Metrics
import NIOCore
import Ring
import RoomGroup
import Synchronization

/// Rooms as majority-replicated groups (issue 10; `ClusterConfiguration.replicationFactor`):
/// the node-side shell around `GroupHost`, which runs this node's replica of every room group
/// it is placed in. This type holds no replication rule (those are in `RoomGroup`); it
///
/// - keeps the roster (`GroupRoster`) gossip gives it and tells the host about liveness and
///   placement changes;
/// - creates a room's group when nobody holds it (`ensureReplica`);
/// - serves client requests at the leader: sends go through the group, and joins,
///   resubscribes and pages are answered from the hub (`GroupHubs`) after a read barrier;
/// - answers everything else with the leader it knows (`NotLeaderError`) or `unavailable`,
///   lasting when the room's group has no reachable majority, so that a cut-off minority fails
///   fast instead of holding its clients.
public final class GroupRooms: Sendable {
    public let nodeID: String
    let host: GroupHost
    let hubs: GroupHubs
    let history: any HistoryStore
    let logger: Logger
    let roster: SharedRoster
    /// The leader each room was last served by, as requests from this node found it.
    let leaders = Mutex<[String: String]>([:])
    /// Rooms this node's host has a replica of (a host never drops one), so that a request for
    /// them goes to the host's loop once, not first to ask whether the replica exists.
    let replicas = Mutex<Set<String>>([])
    /// Asks `node` whether it holds anything of `room`, offering the genesis `voters` (nil: no
    /// answer).
    let probe: @Sendable (_ node: String, _ room: String, _ voters: [ReplicaID]) async -> InternalFrame.GroupProbeAnswer?
    /// The boot id of a member's current process ("" when unknown).
    let bootOf: @Sendable (String) -> String
    /// Replicas this node holds at most before it refuses to create rooms.
    let maxRooms: Int

    init(
        me: ReplicaID, eventLoop: any EventLoop, replicationFactor: Int, maxRooms: Int = .max, virtualNodes: Int,
        configuration: RoomStateMachine.Configuration, history: any HistoryStore, logger: Logger,
        wallClock: @Sendable () -> Int64,
        send: @escaping @Sendable (String, [GroupPacket]) -> Void,
        probe: @escaping @Sendable (String, String, [ReplicaID]) async -> InternalFrame.GroupProbeAnswer?,
        bootOf: @escaping @Sendable (String) -> String
    ) {
        nodeID = me.node
        self.history = history
        self.logger = logger
        self.probe = probe
        self.bootOf = bootOf
        self.maxRooms = maxRooms
        let roster = SharedRoster(
            GroupRoster(
                ring: HashRing(members: [me.node], virtualNodes: virtualNodes), live: [me.node], boots: [me.node: me.boot],
                replicationFactor: max(1, replicationFactor)))
        self.roster = roster
        let hubs = GroupHubs(loop: eventLoop, configuration: configuration)
        self.hubs = hubs
        // Groups run on the event loop's monotonic clock; messages carry wall-clock times.
        var settings = GroupSettings()
        settings.wallClockOffset = wallClock() - Int64(GroupHost.now / 1_000_000)

        host = GroupHost(
            me: me, eventLoop: eventLoop, settings: settings,
            placementOf: { room in roster.withLock { $0.placement(of: room) } },
            sinks: GroupHost.Sinks(
                send: send,
                deliver: { room, delivery in hubs.deliver(room, delivery) },
                // Written by the room's leader (a new leader writes its recent commits again).
                persist: { room, messages in
                    for message in messages { history.append(ChatMessage(room: room, message)) }
                },
                leading: { room, leads in hubs.leadingChanged(room, leads) }))
        hubs.connect { [host] room, node, update in host.presence(room: room, node: node, update) }
    }

    /// What this node's replica of `room` says (nil: it holds none).
    public func status(of room: String) async -> GroupStatus? {
        (try? await host.status(room: room).get()) ?? nil
    }

    /// Rooms this node leads now.
    public var roomCount: Int { hubs.leading.load(ordering: .relaxed) }

    /// The ring rooms are placed on (every roster member, dead ones included).
    var ring: HashRing { roster.withLock { $0.ring } }

    // MARK: Membership

    /// Gossip's view changed: the roster (members that joined and did not leave), who is alive,
    /// and the boot id of each. Groups hear the liveness, and those whose placement changed
    /// hear their new placement.
    func update(roster members: [String], live: Set<String>, boots: [String: UInt64]) {
        let (liveReplicas, changed) = roster.withLock { roster -> (Set<ReplicaID>, Bool) in
            let ring = HashRing(members: members, virtualNodes: roster.ring.virtualNodes)
            let changed = ring != roster.ring
            roster.ring = ring
            roster.live = live
            roster.boots = boots
            return (roster.liveReplicas, changed)
        }
        host.liveness(liveReplicas)
        if changed { host.rosterChanged() }
    }

    /// Packets from another node's replicas.
    func receive(_ packets: [GroupPacket]) { host.receive(packets) }

    /// The answer to a creator's probe: whether this node holds anything of `room`, and if not,
    /// whether its own roster gives the room the same genesis `voters`.
    func probeAnswer(_ room: String, voters: [ReplicaID]) async -> InternalFrame.GroupProbeAnswer {
        if (try? await host.holds(room).get()) ?? false { return .holds }
        return roster.withLock { $0.genesis(of: room) } == voters ? .agrees : .disagrees
    }

    /// A graceful shutdown: every replica here stops leading and never campaigns again.
    func resignAll() async {
        try? await host.resignAll().get()
    }

    /// A link from `subscriber`'s node closed: stop pushing to it.
    func unsubscribe(_ subscriber: any RoomSubscriber) {
        hubs.loop.execute { [hubs] in
            for hub in hubs.all where hub.subscribers[subscriber.nodeID] === subscriber {
                hub.subscribers[subscriber.nodeID] = nil
            }
        }
    }

    /// `node` is no longer a member: its users leave every room this node leads (a follower's
    /// proposal is ignored by its group; the leader makes its own).
    func nodeGone(_ node: String) {
        hubs.loop.execute { [hubs] in
            for hub in hubs.all {
                if hub.subscribers[node] != nil || hub.sessions[node] != nil {
                    hub.subscribers[node] = nil
                    hub.dropSessions(of: node)
                }
                for key in hub.committedPresence.nodes where OwnedRoom.presenceNode(key).node == node { hub.dropPresence(key) }
            }
        }
    }

    /// How long a new leader waits for a node whose users presence lists to subscribe again
    /// before it removes them: a node that is alive but kept no session in the room (its users
    /// left while the room had no leader) never subscribes again.
    static let resubscribeGrace: TimeAmount = .seconds(10)

    /// Drops the sessions of nodes that `isGone`, and of earlier processes of restarted nodes;
    /// at a leader, also the presence of node processes that are gone (the node is, or it
    /// restarted since) or did not subscribe again within `resubscribeGrace` of its taking over.
    func sweepSessions(isGone: @escaping @Sendable (String) -> Bool) {
        hubs.loop.execute { [hubs, host, bootOf] in
            let now = NIODeadline.now()
            for hub in hubs.all {
                for node in hub.sessions.keys.sorted() {
                    let current = bootOf(node)
                    let restarted = !current.isEmpty && hub.boots[node].map { $0 != current } == true
                    if isGone(node) || restarted { hub.dropSessions(of: node) }
                }
                guard let since = hub.leadingSince, host.leads(hub.name) else { continue }
                for key in hub.committedPresence.nodes {
                    let (node, boot) = OwnedRoom.presenceNode(key)
                    let current = bootOf(node)
                    let replaced = !current.isEmpty && current != boot
                    let subscribed = hub.sessions[node] != nil && hub.boots[node] == boot
                    if isGone(node) || replaced || (!subscribed && now - since >= Self.resubscribeGrace) { hub.dropPresence(key) }
                }
            }
        }
    }
}

/// The room is led elsewhere: ask `hint` (a node id).
struct NotLeaderError: Error, Sendable {
    var hint: String

    /// The error code that carries it on internal links (the message is the hint).
    static let code = "not_leader"
}
