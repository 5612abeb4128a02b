/// Test support: the real `RoomGroup` state machines of several rooms on several nodes, over a
/// simulated network with a virtual clock, checked by `GroupChecker` after every step.
///
/// Deterministic: every random choice (delays, losses, duplicates, faults, clients) comes from
/// `seed`, and iteration never depends on hashing order, so a failing seed replays exactly.
/// Gossip is an oracle: a node's liveness view is the set of running, unpaused nodes it can reach
/// both ways, delivered after a random delay (so views disagree for a while, as gossip's do).
/// Placement is rendezvous hashing over the roster; roster changes reach nodes at different times.
public final class GroupSimulation {
    public struct Configuration: Sendable {
        public var seed: UInt64 = 1
        public var nodes = 5
        /// Nodes outside the roster at the start, for joins.
        public var spares = 1
        public var rooms = 3
        public var replication = 3
        public var clientsPerRoom = 2
        /// The groups' settings; entries are compacted after a few dozen commits, so that snapshots
        /// (sent to lagging replicas and by promisers) happen in every run.
        public var settings: GroupSettings = {
            var settings = GroupSettings()
            settings.retainedEntries = 12
            return settings
        }()
        public var loss = 0.02
        public var duplication = 0.02
        /// Probability that a packet takes a long detour (reordering).
        public var detour = 0.05
        /// Chaos rounds: each is `chaos` of faults, then everything heals and each room that keeps
        /// a live majority must ack a probe within `progressBound`.
        public var rounds = 2
        public var chaos: UInt64 = 4_000_000_000
        public var progressBound: UInt64 = 3_000_000_000
        /// Mean time between faults during chaos.
        public var faultInterval: UInt64 = 400_000_000
        public var crashes = true
        public var rosterChanges = true
        /// Probability that a leader's write to the history store is lost (a store outage).
        public var storeLoss = 0.1
        /// Whether rooms that lost a majority of voters for good are recovered by an operator
        /// after each round (`RoomGroup+Recovery`), and how many seqs a recovery leaves unused.
        public var recoverLostGroups = true
        public var recoverySkip: UInt64 = 50

        public init() {}
    }

    public enum NodeState: Sendable, Hashable {
        case running, paused, crashed
    }

    final class Node {
        let name: String
        var boot: UInt64
        var state: NodeState = .crashed
        var groups: [String: RoomGroup] = [:]
        var buffered: [Event] = []

        init(name: String, boot: UInt64) {
            self.name = name
            self.boot = boot
        }

        var replica: ReplicaID { ReplicaID(node: name, boot: boot) }
    }

    enum Event {
        case packet(to: String, GroupPacket)
        case timer(node: String, boot: UInt64, room: String)
        case request(to: String, room: String, GroupEvent)
        case reply(client: Int, request: UInt64, GroupReply)
        case view(node: String)
        case placement(node: String)
        case clientWake(client: Int)
        case fault(generation: Int)
        case heal(Fault)
        case restart(node: String)
    }

    public let configuration: Configuration
    public internal(set) var now: UInt64 = 0
    public internal(set) var checker = GroupChecker()
    public internal(set) var steps = 0
    var rng: SimRandom
    /// Draws for presence only, so that adding them left every other draw of a seed as it was.
    var presenceRng: SimRandom
    var heap = EventHeap<Event>()
    var nodes: [Node] = []
    var index: [String: Int] = [:]
    public internal(set) var roster: [String] = []
    public let rooms: [String]
    var cut: Set<Link> = []
    var nextBoot: UInt64 = 1
    var clients: [Client] = []
    var requests: [UInt64: (client: Int, attempt: Int, id: String?)] = [:]
    var nextRequest: UInt64 = 1
    /// When true, no new faults are injected (quiet phase or a scripted test).
    public var chaosEnabled = false
    public internal(set) var progressChecks = 0
    public internal(set) var progressSkipped = 0
    public internal(set) var faultsInjected = 0
    public internal(set) var packetsSent = 0
    /// Snapshots sent (in appends and in promises) and gaps reported: compaction at work.
    public internal(set) var snapshotsSent = 0
    public internal(set) var gapsReported = 0
    public internal(set) var promiseSnapshotsSent = 0
    /// The history store: what leaders persisted (some writes are lost, `storeLoss`).
    var store: [String: [UInt64: GroupChatMessage]] = [:]
    /// While true every write to the history store is lost (a store that is down, or writes
    /// that die with their leader's process).
    public var storeDown = false
    /// Operator recoveries run, and the requests they are waiting for (by room).
    public internal(set) var recoveries = 0
    var operatorRequests: [UInt64: String] = [:]
    var lastOperatorReply: GroupReply?
    var faultGeneration = 0
    /// Called with a line for each probe attempt and answer (debugging a seed).
    public var trace: ((String) -> Void)?
    public var debugRoom: String?
    public var debugFrom: UInt64 = 0
    /// A run that takes more steps than this is reported (a livelock would never end).
    public var stepLimit = 2_000_000

    struct Link: Hashable {
        var from: String
        var to: String
    }

    /// Builds the cluster: `nodes` roster members (n0, n1, …) running, `spares` more stopped.
    /// Every room is created on its initial placement with the same genesis configuration.
    public init(configuration: Configuration, clients: Bool = true) {
        self.configuration = configuration
        rng = SimRandom(seed: configuration.seed)
        presenceRng = SimRandom(seed: configuration.seed ^ 0x5052_4553_454E_4345)
        rooms = (0..<configuration.rooms).map { "room\($0)" }
        for i in 0..<(configuration.nodes + configuration.spares) {
            let node = Node(name: "n\(i)", boot: nextBoot)
            nextBoot += 1
            index[node.name] = nodes.count
            nodes.append(node)
        }
        roster = (0..<configuration.nodes).map { "n\($0)" }
        for node in nodes where roster.contains(node.name) { node.state = .running }
        for room in rooms {
            let genesis = GroupConfig(voters: placement(of: room).map { node($0).replica })
            for node in nodes where node.state == .running {
                let isMember = genesis.voters.contains(node.replica)
                node.groups[room] = RoomGroup(
                    room: room, me: node.replica, genesis: isMember ? genesis : nil, settings: configuration.settings)
            }
        }
        for node in nodes where node.state == .running {
            deliverPlacement(node)
            deliverView(node)
        }
        if clients { addClients() }
    }

    func node(_ name: String) -> Node { nodes[index[name]!] }

    /// The room's replica group by the current roster: R members in rendezvous (ring) order.
    public func placement(of room: String) -> [String] {
        let ranked = roster.sorted { stableHash(room + "/" + $0) < stableHash(room + "/" + $1) }
        return Array(ranked.prefix(configuration.replication))
    }

    public func state(of name: String) -> NodeState { node(name).state }

    public func group(_ room: String, on name: String) -> RoomGroup? { node(name).groups[room] }

    /// The replicas currently leading `room` (more than one only while an old one is cut off).
    public func leaders(of room: String) -> [RoomGroup] {
        nodes.compactMap { $0.state == .crashed ? nil : $0.groups[room] }.filter(\.isLeader)
    }

    // MARK: Running

    /// Runs until `time` or the first violation. Returns false on a violation.
    @discardableResult
    public func run(until time: UInt64) -> Bool {
        while checker.violation == nil, let next = heap.nextTime, next <= time {
            let (at, event) = heap.pop()!
            now = at
            steps += 1
            process(event)
            if steps > stepLimit { checker.fail("more than \(stepLimit) steps: a livelock?") }
        }
        if checker.violation == nil { now = max(now, time) }
        return checker.violation == nil
    }

    @discardableResult
    public func run(for duration: UInt64) -> Bool { run(until: now + duration) }

    func schedule(_ event: Event, after delay: UInt64) { heap.push(event, at: now + delay) }

    func process(_ event: Event) {
        switch event {
        case .packet(let to, let packet):
            deliver(to: to, room: packet.room, .packet(packet), original: event)
        case .request(let to, let room, let groupEvent):
            deliver(to: to, room: room, groupEvent, original: event)
        case .timer(let name, let boot, let room):
            let node = node(name)
            guard node.boot == boot else { return }
            deliver(to: name, room: room, .timer, original: event)
        case .reply(let client, let request, let reply):
            clientReply(client, request: request, reply: reply)
        case .view(let name):
            let node = node(name)
            guard node.state == .running else { return }
            let view = liveView(of: name)
            for room in rooms { step(node, room: room, .liveness(view)) }
        case .placement(let name):
            let node = node(name)
            guard node.state == .running else { return }
            for room in rooms { step(node, room: room, .placement(placement(of: room))) }
        case .clientWake(let client):
            clientWake(client)
        case .fault(let generation):
            injectFault(generation: generation)
        case .heal(let fault):
            heal(fault)
        case .restart(let name):
            restart(name)
        }
    }

    func deliver(to name: String, room: String, _ groupEvent: GroupEvent, original: Event) {
        let node = node(name)
        switch node.state {
        case .crashed: return
        case .paused: node.buffered.append(original)
        case .running: step(node, room: room, groupEvent)
        }
    }

    /// One event into one replica; its actions are carried out and the checker looks at it.
    func step(_ node: Node, room: String, _ event: GroupEvent) {
        // Mutated in place: a copy would share the log's storage and copy it on every append.
        guard node.groups[room] != nil else { return }
        let actions = node.groups[room]!.handle(event, now: now)
        let group = node.groups[room]!
        if let debugRoom, debugRoom == room, now >= debugFrom {
            trace?("\(now / 1_000) us \(node.replica) <- \(event)")
            for action in actions { trace?("      -> \(action)") }
        }
        for action in actions {
            switch action {
            case .send(let to, let packet):
                transmit(packet, from: node.name, to: to)
            case .schedule(let at):
                heap.push(.timer(node: node.name, boot: node.boot, room: room), at: max(at, now))
            case .reply(let request, let reply):
                if let room = operatorRequests.removeValue(forKey: request) {
                    recovered(room, by: group, reply: reply)
                } else {
                    answer(request, reply: reply, from: node.name)
                }
            case .gap:
                gapsReported += 1
            case .persist(let messages):
                guard !storeDown, !rng.chance(configuration.storeLoss) else { break }
                for message in messages { store[room, default: [:]][message.seq] = message }
            case .commit, .lost, .presence, .presenceTable:
                break
            }
        }
        checker.check(group, leaders: leaders(of: room))
        for action in actions { checker.checkDelivery(action, by: node.replica, room: room) }
        checker.checkPresence(group, room: room)
    }

    func transmit(_ packet: GroupPacket, from: String, to: String) {
        packetsSent += 1
        switch packet.message {
        case .append(let append) where append.snapshot != nil: snapshotsSent += 1
        case .promise(let promise) where promise.snapshot != nil:
            snapshotsSent += 1
            promiseSnapshotsSent += 1
        default: break
        }
        guard !cut.contains(Link(from: from, to: to)), !rng.chance(configuration.loss) else { return }
        schedule(.packet(to: to, packet), after: latency())
        if rng.chance(configuration.duplication) { schedule(.packet(to: to, packet), after: latency()) }
    }

    func latency() -> UInt64 {
        if rng.chance(configuration.detour) { return rng.between(5_000_000, 80_000_000) }
        return rng.between(200_000, 2_000_000)
    }

    /// What gossip would eventually say at `name`: running nodes it reaches both ways.
    func liveView(of name: String) -> Set<ReplicaID> {
        var view: Set<ReplicaID> = [node(name).replica]
        for other in nodes where other.state == .running && other.name != name {
            if !cut.contains(Link(from: name, to: other.name)), !cut.contains(Link(from: other.name, to: name)) {
                view.insert(other.replica)
            }
        }
        return view
    }

    /// Gossip noticing a change: every running node gets its view after its own delay.
    func topologyChanged() {
        for node in nodes where node.state == .running { deliverView(node) }
    }

    func deliverView(_ node: Node) { schedule(.view(node: node.name), after: rng.between(50_000_000, 400_000_000)) }

    func deliverPlacement(_ node: Node) { schedule(.placement(node: node.name), after: rng.between(0, 500_000_000)) }
}
