import ChatCore
import Gossip
import History
import Logging
import NIOCore
import NIOPosix
import Ring
import ServiceLifecycle
import Synchronization

/// One node's part in the cluster: membership (gossip), the ring, the rooms it orders, its local
/// subscribers (`LocalRooms`), and its links to the other nodes.
///
/// Rooms are ordered in one of two ways (`ClusterConfiguration.replicationFactor`):
/// - majority groups (`GroupRooms`, the default): the ring is built from the roster, each room
///   is a consensus group of its placement, and a request goes to the room's leader
///   (`ChatCluster+Groups`);
/// - successor replication (`RoomOwner`, factor 0): the ring is built from the live members, and
///   a request goes to the room's owner on this node's ring; when the ring changes, rooms this
///   node no longer owns are released.
///
/// Either way a request is a direct call when the target is this node and a request over the
/// target's link otherwise, and rooms with local members subscribe again at their new leader or
/// owner with the last seq they delivered.
public final class ChatCluster: Service, Sendable {
    struct State {
        /// The boot id each link was made for: a member whose boot id changes was restarted.
        var linkBoots: [String: String] = [:]
        var gossip: GossipService?
        var linkServer: LinkServer?
        /// Whether this node saw a majority of the roster at the last membership change.
        var quorum = true
        /// Members whose link dropped or went silent and has not been made again since: not
        /// counted as seen for the quorum, whatever gossip says (a one-way cut, a failing route).
        var unreachable: Set<String> = []
        /// An operator removed this node (`GossipEvent.removedByOperator`): `run` throws.
        var removed = false
    }

    /// A member as `/cluster` shows it.
    public struct MemberInfo: Sendable {
        public var member: GossipMember
        public var isSelf: Bool
        public var linkUp: Bool
    }

    public let nodeID: String
    public let configuration: ClusterConfiguration
    public let owner: RoomOwner
    /// The room groups, in groups mode (`ClusterConfiguration.replicationFactor` ≥ 1); nil
    /// when rooms are replicated to one successor by `owner`.
    public let groups: GroupRooms?
    public let local: LocalRooms
    let logger: Logger
    let group: any EventLoopGroup
    let state: Mutex<State>
    let ringView: RingView
    let peers: ClusterPeers
    private let joined = Atomic<Bool>(false)
    /// Random per process: lets the others tell a restarted node (same id) from the old one.
    let bootID: String
    /// Signalled whenever rooms may need to subscribe again.
    let resubscribeSignal: AsyncStream<Void>.Continuation
    private let resubscribeRequests: AsyncStream<Void>

    public init(
        configuration: ClusterConfiguration, roomConfiguration: RoomStateMachine.Configuration = .init(), history: any HistoryStore,
        logger: Logger, now: @escaping @Sendable () -> Int64
    ) {
        self.nodeID = configuration.nodeID
        self.configuration = configuration
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup.singleton
        let ringView = RingView(HashRing(members: [configuration.nodeID], virtualNodes: configuration.virtualNodes))
        let nodeID = configuration.nodeID
        self.ringView = ringView
        self.state = Mutex(State())
        let peers = ClusterPeers()
        self.peers = peers
        let bootNumber = UInt64.random(in: 0...UInt64.max)
        let boot = String(bootNumber, radix: 36)
        self.bootID = boot
        self.owner = RoomOwner(
            nodeID: nodeID, configuration: roomConfiguration, history: history, logger: logger, now: now, ring: ringView, peers: peers,
            bootOf: { node in node == nodeID ? boot : peers.boots.withLock { $0[node] } ?? "" })
        // Until gossip has joined, this node does not know the other members: it orders nothing.
        owner.active.store(configuration.seeds.isEmpty, ordering: .relaxed)
        self.local = LocalRooms()
        self.groups = Self.makeGroups(
            configuration: configuration, boot: bootNumber, roomConfiguration: roomConfiguration, history: history, logger: logger,
            loop: group.next(), peers: peers, now: now)
        (resubscribeRequests, resubscribeSignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        ClusterMetrics.register()
    }

    /// Whether this node has joined the cluster (exchanged state with a member, or has no seeds).
    public var hasJoined: Bool {
        joined.load(ordering: .relaxed) || state.withLock { $0.gossip?.isJoined ?? false }
    }

    /// Whether this node saw a majority of the roster at the last membership change
    /// (`RosterQuorum`): without it, it orders nothing and answers `unavailable`.
    public var hasQuorum: Bool { state.withLock { $0.quorum } }

    /// Ready for clients (PROTOCOL.md `/readyz`): joined, and reaching a majority of the roster.
    public var isReady: Bool { hasJoined && hasQuorum }

    public var ring: HashRing { ringView.current }

    /// Every member this node knows, itself included.
    public var members: [MemberInfo] {
        state.withLock { state in
            let known = state.gossip?.members ?? []
            return known.map { MemberInfo(member: $0, isSelf: $0.id == nodeID, linkUp: peers.link(to: $0.id)?.isConnected ?? false) }
        }
    }

    /// Rooms ordered by `node` right now, asked over its link (this node's count directly). A
    /// member that does not answer within 300 ms (cut off, paused) gets nil: `/cluster` must stay
    /// fast exactly when an operator looks at it, during an outage.
    public func roomsOwned(by node: String) async -> Int? {
        if node == nodeID { return orderedRooms }
        guard let link = peers.link(to: node),
            case .statsReply(_, let rooms) = try? await link.request(timeout: .milliseconds(300), { .stats(corr: $0) })
        else { return nil }
        return Int(rooms)
    }

    // MARK: Service

    public func run() async throws {
        let server = LinkServer(
            nodeID: nodeID, secret: configuration.secret, logger: logger,
            serve: { [self] frame, subscriber in await serve(frame, from: subscriber) },
            answerInline: { [self] frame, subscriber in answerInline(frame, from: subscriber) },
            startInline: { [self] frame, subscriber in startInline(frame, from: subscriber) },
            closed: { [self] subscriber in
                owner.unsubscribe(subscriber)
                groups?.unsubscribe(subscriber)
            },
            group: { [groups] packets in groups?.receive(packets) })
        state.withLock { $0.linkServer = server }
        let addresses = configuration.addresses
        let serverChannel = try await server.bind(host: addresses.links.bind, port: configuration.internalPort, group: linkLoops)
        let internalPort = serverChannel.localAddress?.port ?? configuration.internalPort
        // "host" is where links connect to; "clientHost" is shown by /cluster.
        var metadata = [
            "host": addresses.links.advertise, "clientPort": String(configuration.clientPort), "internalPort": String(internalPort),
            "boot": bootID,
        ]
        if addresses.client.advertise != addresses.links.advertise { metadata["clientHost"] = addresses.client.advertise }
        var gossipConfiguration = GossipConfiguration(
            nodeID: nodeID, bindHost: addresses.gossip.bind, bindPort: configuration.gossipPort, seeds: configuration.seeds,
            secret: configuration.secret, metadata: metadata, settings: configuration.gossip)
        gossipConfiguration.advertisedHost = addresses.gossip.advertise
        gossipConfiguration.leavesOnGracefulShutdown = false
        let gossip = GossipService(configuration: gossipConfiguration, logger: logger)
        state.withLock { $0.gossip = gossip }
        if configuration.replicationFactor > 0 {
            logger.info(
                """
                rooms are majority groups of \(configuration.replicationFactor) replicas: a room stays writable while \
                a majority of its replicas is reachable (a cluster of two nodes needs both)
                """)
        } else {
            logger.warning("rooms are replicated to one successor (replication factor 0): a partition can lose acked messages")
        }
        logger.info(
            """
            internal links on \(addresses.links.bind):\(internalPort) (advertised as \(addresses.links.advertise)), \
            gossip on \(addresses.gossip.bind):\(configuration.gossipPort) (advertised as \(addresses.gossip.advertise))
            """)
        defer {
            serverChannel.close(promise: nil)
            let links = peers.links.withLock { links in
                defer { links = [:] }
                return Array(links.values)
            }
            for link in links { link.stop() }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                for await event in gossip.events {
                    guard case .removedByOperator = event else {
                        membershipChanged()
                        continue
                    }
                    // Fail-stop: this process's replicas hold the rooms' state as it was when it
                    // was cut off, and the others may have recovered rooms without it. It orders
                    // nothing more and exits; a restarted process (a new incarnation, empty)
                    // joins the cluster afresh.
                    logger.critical(
                        "an operator removed this node from the cluster (chat-node members remove) while it seemed dead; stopping (restart it to rejoin)"
                    )
                    state.withLock { $0.removed = true }
                    await groups?.close()
                    await gossip.leave()
                    return
                }
            }
            group.addTask { [self] in await resubscribeLoop() }
            group.addTask { [self] in
                // Backstop for presence: sessions of dead or left nodes, or of a restarted
                // node's earlier process, are dropped within `sessionSweepInterval`.
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.sessionSweepInterval)
                    let gone = Set(gossip.members.filter { $0.status == .dead || $0.status == .left }.map(\.id))
                    owner.sweepSessions { gone.contains($0) }
                    groups?.sweepSessions { gone.contains($0) }
                }
            }
            group.addTask { [self] in
                // Readiness: poll until gossip says it has joined.
                while !Task.isCancelled {
                    if gossip.isJoined {
                        joined.store(true, ordering: .relaxed)
                        owner.active.store(true, ordering: .relaxed)
                        membershipChanged()
                        return
                    }
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            membershipChanged()
            // Graceful shutdown (SIGTERM): hand every room off, then announce the leave; gossip
            // returns once the announcement is over.
            try await withGracefulShutdownHandler {
                try await gossip.run()
            } onGracefulShutdown: { [self] in
                Task {
                    if let groups {
                        // Leaders step down and say so: the next live voter of each room takes
                        // over at once instead of after gossip declares this node dead.
                        await groups.resignAll()
                        try? await Task.sleep(for: Self.resignationGrace)
                    } else {
                        await owner.handOffAll()
                    }
                    membershipChanged()
                    await gossip.leave()
                }
            }
            group.cancelAll()
        }
        if state.withLock({ $0.removed }) { throw RemovedFromCluster(node: nodeID) }
    }

    // MARK: Membership

    /// Rebuilds the ring from gossip's view, opens and closes links, releases rooms this node no
    /// longer owns and asks rooms with local members to subscribe at their (new) owner.
    func membershipChanged() {
        let (oldRing, newRing, gone, added, quorumChange) = state.withLock {
            state -> (HashRing, HashRing, [PeerLink], [PeerLink], RosterQuorum?) in
            let known = state.gossip?.members ?? []
            let quorum = RosterQuorum(members: known, me: nodeID, unreachable: state.unreachable)
            let quorumChange = quorum.holds != state.quorum ? quorum : nil
            state.quorum = quorum.holds
            // A leaving node takes itself off its own ring: it owns nothing from then on.
            var live: [String] = owner.leaving.load(ordering: .relaxed) ? [] : [nodeID]
            var members: [String: GossipMember] = [:]
            for member in known {
                members[member.id] = member
                if member.id != nodeID, member.status == .alive || member.status == .suspect { live.append(member.id) }
            }
            peers.boots.withLock { boots in
                boots = members.compactMapValues { $0.metadata["boot"] }
            }
            var gone: [PeerLink] = []
            var links = peers.links.withLock { $0 }
            defer { peers.links.withLock { $0 = links } }
            for (id, link) in links {
                // Gone, or restarted under the same id (new boot id, maybe new ports): its old
                // sessions leave, and a fresh link is made below.
                let restarted = members[id]?.metadata["boot"] != state.linkBoots[id]
                guard !live.contains(id) || restarted else { continue }
                gone.append(link)
                links[id] = nil
                state.linkBoots[id] = nil
                state.unreachable.remove(id)
            }
            var added: [PeerLink] = []
            for id in live where id != nodeID && links[id] == nil {
                guard let member = members[id], let host = member.metadata["host"],
                    let port = member.metadata["internalPort"].flatMap(Int.init)
                else { continue }
                let link = PeerLink(
                    peerID: id, host: host, port: port, nodeID: nodeID, boot: bootID, secret: configuration.secret, group: linkLoops,
                    logger: logger,
                    onPush: { [self] frame in handlePush(frame, from: id) },
                    onReady: { [self] _ in
                        // The owner dropped our subscriptions when the link closed: subscribe again.
                        local.ownerLost(id)
                        resubscribeSignal.yield()
                        if self.state.withLock({ $0.unreachable.remove(id) }) != nil { membershipChanged() }
                    },
                    onLost: { [self] link, silent in
                        // Whatever this node had subscribed there no longer arrives: subscribe
                        // again, wherever the room is ordered now.
                        local.ownerLost(id)
                        resubscribeSignal.yield()
                        // A link that went silent (a cut, a paused or vanished host) counts its
                        // member as unseen at once, one that dropped (a reset, a failing route)
                        // if it is not made again within `relinkGrace`; until a link is made
                        // again (gossip takes seconds to say as much).
                        if silent {
                            markUnreachable(id, link: link)
                        } else {
                            group.next().scheduleTask(in: Self.relinkGrace) { [self] in markUnreachable(id, link: link) }
                        }
                    })
                links[id] = link
                state.linkBoots[id] = member.metadata["boot"]
                added.append(link)
            }
            let oldRing = ringView.current
            // Without a quorum the ring is empty: this node orders nothing and routes nothing
            // (its links stay up, so that it sees the others again as soon as they answer).
            var newRing = HashRing(members: quorum.holds ? live : [], virtualNodes: configuration.virtualNodes)
            if let groups {
                groups.update(
                    known: known, me: nodeID, boot: bootID, unreachable: state.unreachable, leaving: owner.leaving.load(ordering: .relaxed))
                newRing = groups.ring
            }
            ringView.current = newRing
            return (oldRing, newRing, gone, added, quorumChange)
        }
        if let quorum = quorumChange {
            ClusterMetrics.quorumChanged(quorum.holds)
            if quorum.holds {
                logger.notice("quorum regained: this node \(quorum.description); ordering rooms again")
            } else {
                // Its clients would wait here for messages that the majority orders without this
                // node: close them at once (1013, try again later), so that they resume elsewhere
                // with `since` instead of missing messages on a connection that stays open.
                let closed = local.closeAll(code: Self.noQuorumCloseCode, reason: "no majority of the cluster here; reconnect")
                logger.warning(
                    """
                    no quorum: this node \(quorum.description), not a majority; it orders no room, answers \
                    unavailable until a majority is reachable (a cluster of two needs both nodes), and closed \
                    \(closed) client connection(s) in rooms
                    """)
            }
        }
        for link in added { link.start() }
        let server = state.withLock { $0.linkServer }
        for link in gone {
            link.stop()
            local.ownerLost(link.peerID)
            owner.nodeGone(link.peerID)
            groups?.nodeGone(link.peerID)
            if let closed = server?.closeLinks(from: link.peerID), closed > 0 {
                logger.info("closed \(closed) inbound link(s) of \(link.peerID): it is no longer a member here")
            }
        }
        if oldRing != newRing {
            logger.info("ring: \(newRing.members.joined(separator: ", "))")
            if groups == nil { owner.ringChanged() }
        }
        resubscribeSignal.yield()
    }

    /// Counts `node` as unseen (for the quorum and the groups' liveness) while `link` is still
    /// its link and down.
    func markUnreachable(_ node: String, link: PeerLink) {
        guard peers.link(to: node) === link, !link.isConnected else { return }
        let changed = state.withLock { $0.unreachable.insert(node).inserted }
        if changed { membershipChanged() }
    }

    /// How long a dropped link (not a silent one) may take to be made again before its member
    /// counts as unseen: a reset connection is made again within a few hundred milliseconds.
    static let relinkGrace: TimeAmount = .seconds(1)

    /// A push from an owner over our link to it.
    func handlePush(_ frame: InternalFrame, from peer: String) {
        switch frame {
        case .message(let message): local.deliver(message, from: peer)
        case .presence(let event): local.deliver(event, from: peer)
        case .moved:
            local.ownerLost(peer)
            resubscribeSignal.yield()
        default: break
        }
    }

    /// Subscribes rooms whose traffic does not come from their ring owner, whenever signalled
    /// and every half second while some still need it.
    private func resubscribeLoop() async {
        var iterator = resubscribeRequests.makeAsyncIterator()
        while !Task.isCancelled {
            let pending = await resubscribeAll()
            if pending {
                try? await Task.sleep(for: .milliseconds(200))
            } else {
                guard await iterator.next() != nil else { return }
            }
        }
    }

    /// Returns true while some room still could not subscribe.
    private func resubscribeAll() async -> Bool {
        let ring = self.ring
        // In groups mode a room's traffic comes from its leader, whoever that is; it is
        // subscribed again when its leader's link drops or the leader says it moved.
        let stale = local.subscriptions { room, owner in
            owner == nil || (groups == nil && owner != ring.owner(of: room))
        }
        var pending = false
        for subscription in stale {
            do {
                if groups != nil {
                    try await routed(subscription.room) { target in
                        try await resubscribe(
                            room: subscription.room, at: target, since: subscription.since, sessions: subscription.sessions)
                    }
                    continue
                }
                guard let target = ring.owner(of: subscription.room) else { continue }
                try await resubscribe(room: subscription.room, at: target, since: subscription.since, sessions: subscription.sessions)
            } catch {
                logger.debug("resubscribe of \(subscription.room) failed: \(error)")
                pending = true
            }
        }
        return pending
    }

    private func resubscribe(room: String, at target: String, since: UInt64, sessions: [UserSessions]) async throws {
        if target == nodeID {
            let subscriber = localSubscriber
            let reply: @Sendable (RoomSnapshot) -> Void = { [local, nodeID] snapshot in
                local.resubscribed(room: room, owner: nodeID, missed: snapshot)
            }
            try await rooms.resubscribe(room: room, since: since, sessions: sessions, subscriber: subscriber, reply: reply)
            return
        }
        let link = try self.link(to: target)
        let reply = try await link.request({ .resubscribe(corr: $0, room: room, since: since, sessions: sessions) }) { [local] frame in
            if case .messagesReply(_, let snapshot) = frame { local.resubscribed(room: room, owner: target, missed: snapshot) }
        }
        try Self.check(reply)
    }

    var localSubscriber: LocalSubscriber {
        LocalSubscriber(nodeID: nodeID, boot: bootID, local: local) { [self] _ in
            local.ownerLost(nodeID)
            resubscribeSignal.yield()
        }
    }

    func link(to node: String) throws -> PeerLink {
        guard let link = peers.link(to: node) else {
            throw ProtocolError(.unavailable, "no link to \(node) yet; retry")
        }
        return link
    }

    /// The WebSocket close code of a client in a room of a node that lost its quorum (RFC 6455's
    /// "try again later"): reconnect to another node and resume with `since`.
    static let noQuorumCloseCode: UInt16 = 1013

    /// How long a node shutting down in groups mode waits after its leaders resigned, so that
    /// their resignations reach the followers before gossip announces the leave.
    static let resignationGrace: Duration = .milliseconds(300)

    /// How often stale sessions are swept (see `RoomOwner.sweepSessions`).
    static let sessionSweepInterval: Duration = .seconds(2)

    /// The code on internal links of an `unavailable` that will not pass soon (not retried).
    static let lastingUnavailable = "unavailable.lasting"

    /// Throws the error an owner answered with.
    static func check(_ reply: InternalFrame) throws {
        if case .error(_, let code, let message) = reply {
            if code == NotLeaderError.code { throw NotLeaderError(hint: message) }
            if code == lastingUnavailable { throw ProtocolError(.unavailable, message, passesSoon: false) }
            throw ProtocolError(ErrorCode(rawValue: code) ?? .internal, message)
        }
    }
}
