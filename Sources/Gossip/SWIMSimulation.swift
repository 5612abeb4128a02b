#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Test support: many `SWIMEndpoint`s on a simulated lossy network with a virtual clock.
///
/// Deterministic: every random choice (losses, latencies, each instance's own choices) derives
/// from `seed`, and nothing depends on hashing order, so a run replays exactly. Datagrams are the
/// real bytes (codec and HMAC), so sizes and authentication are exercised too.
///
/// Nodes can be killed (never tick or receive again; datagrams to them are lost), frozen for a
/// while (no ticks; datagrams to them wait in a bounded socket buffer and are read when they
/// resume, as after SIGSTOP/SIGCONT), restarted (a fresh process with the same id at incarnation
/// 0, at the same address or a new one), and asked to leave; the network between them can be cut
/// silently (symmetric or one-way partitions) and healed.
public final class SWIMSimulation {
    public struct Configuration: Sendable {
        public var settings = SWIMSettings()
        /// Probability that a datagram is lost.
        public var loss: Double = 0
        /// One-way latency: `minLatency` plus an exponential with mean `meanExtraLatency`, capped
        /// at `maxLatency`. LAN-like defaults.
        public var minLatency: Duration = .microseconds(100)
        public var meanExtraLatency: Duration = .microseconds(400)
        public var maxLatency: Duration = .milliseconds(20)
        public var secret = "simulation-secret"
        public var seed: UInt64 = 1
        /// Datagrams that wait for a frozen node (its socket receive buffer).
        public var frozenBufferCapacity = 1000

        public init() {}
    }

    public enum NodeState: Sendable, Hashable {
        case running, killed, frozen, left
    }

    final class Node {
        let id: String
        let address: GossipAddress
        var endpoint: SWIMEndpoint
        var state: NodeState = .running
        var inbox: [(bytes: [UInt8], from: GossipAddress)] = []
        var tickGeneration: UInt64 = 0
        var scheduledTick: SWIMInstant?
        var sent: UInt64 = 0

        init(id: String, address: GossipAddress, endpoint: SWIMEndpoint) {
            self.id = id
            self.address = address
            self.endpoint = endpoint
        }
    }

    private enum Event {
        case tick(Int, UInt64)
        case deliver(Int, [UInt8], GossipAddress)
        case resume(Int)
    }

    private struct Scheduled {
        var time: SWIMInstant
        var sequence: UInt64
        var event: Event
        func before(_ other: Scheduled) -> Bool {
            time < other.time || (time == other.time && sequence < other.sequence)
        }
    }

    public let configuration: Configuration
    public private(set) var now = SWIMInstant.zero
    private var rng: SWIMRandom
    private var heap: [Scheduled] = []
    private var eventSequence: UInt64 = 0
    private(set) var nodes: [Node] = []
    private var indexByID: [String: Int] = [:]
    private var indexByAddress: [GossipAddress: Int] = [:]
    /// Directed pairs (from, to) of node indices whose datagrams are dropped silently.
    private var blocked: Set<Pair> = []

    private struct Pair: Hashable {
        var from: Int
        var to: Int
    }

    /// Called for every member change seen by a node: (observer, member, time).
    public var onMemberChanged: ((String, GossipMember, SWIMInstant) -> Void)?
    /// Called for every datagram sent: (sender, bytes, destination).
    public var onDatagram: ((String, [UInt8], GossipAddress) -> Void)?

    /// Every time a node saw a member that was not killed become dead: (observer, subject, time).
    public private(set) var falseDeaths: [(observer: String, subject: String, at: SWIMInstant)] = []
    public private(set) var datagramsSent: UInt64 = 0
    public private(set) var datagramsLost: UInt64 = 0
    public private(set) var largestDatagram = 0

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.rng = SWIMRandom(seed: configuration.seed)
    }

    // MARK: - Nodes

    public var nodeIDs: [String] { nodes.map(\.id) }

    public func address(of id: String) -> GossipAddress { nodes[indexByID[id]!].address }

    public func state(of id: String) -> NodeState { nodes[indexByID[id]!].state }

    /// The instance of a node (its view, stats, incarnation).
    public func instance(_ id: String) -> SWIMInstance { nodes[indexByID[id]!].endpoint.instance }

    public func endpoint(_ id: String) -> SWIMEndpoint { nodes[indexByID[id]!].endpoint }

    /// Datagrams sent by a node.
    public func datagramsSent(by id: String) -> UInt64 { nodes[indexByID[id]!].sent }

    /// Ids of nodes that are running (not killed, frozen or gone).
    public var runningIDs: [String] { nodes.filter { $0.state == .running }.map(\.id) }

    /// Adds a node that starts now and joins through the given members' addresses.
    @discardableResult
    public func addNode(
        id: String, seeds: [String], metadata: [String: String]? = nil, incarnation: UInt64 = 0, secret: String? = nil
    ) -> GossipAddress {
        precondition(indexByID[id] == nil, "duplicate node \(id)")
        let index = nodes.count
        let address = GossipAddress(host: "10.0.\(index / 250).\(index % 250 + 1)", port: 7946)
        let node = Node(
            id: id, address: address,
            endpoint: makeEndpoint(id: id, address: address, seeds: seeds, metadata: metadata, incarnation: incarnation, secret: secret))
        nodes.append(node)
        indexByID[id] = index
        indexByAddress[address] = index
        schedule(at: now, .tick(index, node.tickGeneration))
        return address
    }

    private func makeEndpoint(
        id: String, address: GossipAddress, seeds: [String], metadata: [String: String]?, incarnation: UInt64, secret: String? = nil
    ) -> SWIMEndpoint {
        let meta = metadata ?? ["host": address.host, "clientPort": "8080", "internalPort": "7947"]
        let me = GossipMember(id: id, address: address, metadata: meta, status: .alive, incarnation: incarnation)
        let seedAddresses = seeds.compactMap { indexByID[$0].map { nodes[$0].address } }
        let instance = SWIMInstance(settings: configuration.settings, myself: me, seeds: seedAddresses, now: now, randomSeed: rng.next())
        // One simulated clock for every node: wall-clock offset 0. Nonces from the seed.
        return SWIMEndpoint(instance: instance, secrets: [secret ?? configuration.secret], nonceSeed: rng.next())
    }

    /// The process crashes: it never runs again, datagrams to it are lost.
    public func kill(_ id: String) {
        let n = nodes[indexByID[id]!]
        n.state = .killed
        n.inbox = []
        n.tickGeneration += 1
    }

    /// The process is stopped for `duration` (SIGSTOP), then continues (SIGCONT).
    public func freeze(_ id: String, for duration: Duration) {
        let index = indexByID[id]!
        let n = nodes[index]
        guard n.state == .running else { return }
        n.state = .frozen
        n.tickGeneration += 1
        schedule(at: now + duration, .resume(index))
    }

    /// A new process with the same id and address replaces a killed one; it starts at
    /// `incarnation` (0: it remembers nothing) and joins through `seeds`.
    public func restart(_ id: String, seeds: [String], incarnation: UInt64 = 0, metadata: [String: String]? = nil) {
        let index = indexByID[id]!
        let n = nodes[index]
        n.endpoint = makeEndpoint(id: id, address: n.address, seeds: seeds, metadata: metadata, incarnation: incarnation)
        n.state = .running
        n.inbox = []
        n.tickGeneration += 1
        schedule(at: now, .tick(index, n.tickGeneration))
    }

    /// A new process with the same id replaces a killed one at another address (a host that came
    /// back with a new IP): incarnation `incarnation`, joining through `seeds`.
    @discardableResult
    public func restart(_ id: String, at address: GossipAddress, seeds: [String], incarnation: UInt64) -> GossipAddress {
        let index = indexByID[id]!
        let n = nodes[index]
        indexByAddress[n.address] = nil
        let moved = Node(
            id: id, address: address,
            endpoint: makeEndpoint(id: id, address: address, seeds: seeds, metadata: nil, incarnation: incarnation))
        moved.tickGeneration = n.tickGeneration + 1
        nodes[index] = moved
        indexByAddress[address] = index
        schedule(at: now, .tick(index, moved.tickGeneration))
        return address
    }

    /// Datagrams between every node of `side` and every node of `other` are dropped silently from
    /// now on: both directions, or only from `side` to `other` when `oneWay`. Nodes keep running
    /// (a silent partition, not a crash).
    public func partition(_ side: [String], from other: [String], oneWay: Bool = false) {
        for a in side {
            for b in other where a != b {
                let (ia, ib) = (indexByID[a]!, indexByID[b]!)
                blocked.insert(Pair(from: ia, to: ib))
                if !oneWay { blocked.insert(Pair(from: ib, to: ia)) }
            }
        }
    }

    /// Every partition ends: datagrams flow between all nodes again.
    public func heal() { blocked = [] }

    /// Graceful leave; the node stops once it has announced it.
    public func leave(_ id: String) {
        let index = indexByID[id]!
        let outputs = nodes[index].endpoint.leave(now: now)
        perform(outputs, of: index)
    }

    /// An operator at `observer` removes `subject` (`SWIMInstance.onRemove`).
    public func remove(_ subject: String, at observer: String) {
        let index = indexByID[observer]!
        let outputs = nodes[index].endpoint.remove(subject, now: now)
        perform(outputs, of: index)
    }

    /// Delivers arbitrary bytes to a node as if sent from `source` (tests of bad datagrams).
    public func inject(_ bytes: [UInt8], to id: String, from source: GossipAddress) {
        let index = indexByID[id]!
        perform(nodes[index].endpoint.receive(bytes, from: source, now: now), of: index)
    }

    // MARK: - Running

    /// Runs until the virtual clock reaches `time`.
    public func run(until time: SWIMInstant) {
        while let top = heap.first, top.time <= time {
            let item = pop()
            now = item.time
            handle(item.event)
        }
        if now < time { now = time }
    }

    public func run(for duration: Duration) { run(until: now + duration) }

    /// Runs until `condition` holds (checked every `checkEvery`) or `timeout` passes; returns the
    /// time at which it held, or nil.
    @discardableResult
    public func run(
        checkEvery: Duration = .milliseconds(20), timeout: Duration, until condition: (SWIMSimulation) -> Bool
    ) -> SWIMInstant? {
        let end = now + timeout
        while true {
            if condition(self) { return now }
            if now >= end { return nil }
            run(until: min(end, now + checkEvery))
        }
    }

    // MARK: - Views

    /// The status `observer` has for `subject` (nil: unknown).
    public func status(of subject: String, at observer: String) -> MemberStatus? {
        nodes[indexByID[observer]!].endpoint.instance.member(subject)?.status
    }

    /// True when every running node (but `subject`) sees `subject` with `status`.
    public func allRunning(see subject: String, as status: MemberStatus) -> Bool {
        nodes.allSatisfy { n in
            n.state != .running || n.id == subject || n.endpoint.instance.member(subject)?.status == status
        }
    }

    /// True when every running node sees every other running node alive.
    public var runningNodesConverged: Bool {
        let running = nodes.filter { $0.state == .running }
        for observer in running {
            for subject in running where subject !== observer {
                if observer.endpoint.instance.member(subject.id)?.status != .alive { return false }
            }
        }
        return true
    }

    // MARK: - Internals

    private func handle(_ event: Event) {
        switch event {
        case .tick(let index, let generation):
            let n = nodes[index]
            guard n.state == .running, n.tickGeneration == generation else { return }
            n.scheduledTick = nil
            perform(n.endpoint.tick(now: now), of: index)
        case .deliver(let index, let bytes, let from):
            let n = nodes[index]
            switch n.state {
            case .running:
                perform(n.endpoint.receive(bytes, from: from, now: now), of: index)
            case .frozen:
                if n.inbox.count < configuration.frozenBufferCapacity { n.inbox.append((bytes, from)) }
            case .killed, .left:
                break
            }
        case .resume(let index):
            let n = nodes[index]
            guard n.state == .frozen else { return }
            n.state = .running
            let inbox = n.inbox
            n.inbox = []
            for item in inbox where n.state == .running {
                perform(n.endpoint.receive(item.bytes, from: item.from, now: now), of: index)
            }
            n.scheduledTick = nil
            perform(n.endpoint.tick(now: now), of: index)
        }
    }

    private func perform(_ outputs: [SWIMEndpointOutput], of index: Int) {
        let n = nodes[index]
        for output in outputs {
            switch output {
            case .datagram(let bytes, let to):
                n.sent += 1
                datagramsSent += 1
                largestDatagram = max(largestDatagram, bytes.count)
                onDatagram?(n.id, bytes, to)
                guard let target = indexByAddress[to] else { continue }
                if !blocked.isEmpty && blocked.contains(Pair(from: index, to: target)) {
                    datagramsLost += 1
                    continue
                }
                if configuration.loss > 0 && rng.nextUnit() < configuration.loss {
                    datagramsLost += 1
                    continue
                }
                schedule(at: now + latency(), .deliver(target, bytes, n.address))
            case .memberChanged(let member):
                if member.status == .dead, let subject = indexByID[member.id], nodes[subject].state != .killed {
                    falseDeaths.append((n.id, member.id, now))
                }
                onMemberChanged?(n.id, member, now)
            }
        }
        if n.endpoint.instance.hasLeft {
            n.state = .left
            n.tickGeneration += 1
            return
        }
        guard n.state == .running else { return }
        let deadline = max(n.endpoint.nextDeadline, now)
        if n.scheduledTick == nil || deadline < n.scheduledTick! {
            n.tickGeneration += 1
            n.scheduledTick = deadline
            schedule(at: deadline, .tick(index, n.tickGeneration))
        }
    }

    private func latency() -> Int64 {
        let minNs = configuration.minLatency.nanoseconds
        let mean = Double(configuration.meanExtraLatency.nanoseconds)
        let extra = -mean * log(1 - rng.nextUnit())
        return min(minNs + Int64(extra), configuration.maxLatency.nanoseconds)
    }

    private func schedule(at time: SWIMInstant, _ event: Event) {
        eventSequence += 1
        heap.append(Scheduled(time: time, sequence: eventSequence, event: event))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if heap[i].before(heap[parent]) {
                heap.swapAt(i, parent)
                i = parent
            } else {
                break
            }
        }
    }

    private func pop() -> Scheduled {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var smallest = i
                if l < heap.count && heap[l].before(heap[smallest]) { smallest = l }
                if r < heap.count && heap[r].before(heap[smallest]) { smallest = r }
                if smallest == i { break }
                heap.swapAt(i, smallest)
                i = smallest
            }
        }
        return top
    }
}
