import Gossip

/// A steady 50-member SWIM cluster driven one protocol period at a time, without I/O.
///
/// The cluster is formed by `SWIMSimulation` (every node joins through `n0`, the simulation runs
/// until all see all alive, then 3 s more); then each node's `SWIMEndpoint` (its `SWIMInstance`
/// and HMAC key) is copied out and driven here, with zero latency and no loss: every period the
/// clock advances by the protocol period (200 ms) and each node in turn gets `onTick`, which
/// starts its probe (a ping); every datagram that causes is delivered at once, so the target
/// answers with an ack that the prober handles before the next node ticks. 100 periods run before
/// anything is measured, so piggyback queues are empty and only the steady state is seen.
///
/// One op is one node-period: the cost of one cluster period divided by the 50 members. That is
/// what each node pays per period: its tick (probe choice, ping), handling the ping some other
/// node sends it (the ack), handling the ack of its own probe, and encoding and decoding each of
/// those datagrams once (sender encodes, receiver decodes). Anti-entropy (a full-state exchange
/// every `syncInterval` x datagrams, with a random member) happens when due and is included,
/// amortized, as in a real cluster; `datagrams` tells how many datagrams were sent.
///
/// Two paths:
/// - `.codec`: `SWIMInstance.onTick` / `onMessage`, each message through `SWIMCodec.encode` and
///   `SWIMCodec.decode` (the state machine and the wire format).
/// - `.endpoint`: `SWIMEndpoint.tick` / `receive`: the same plus the HMAC-SHA256 tag sealed on
///   every datagram and verified on receipt, i.e. the whole datagram path of `GossipService`
///   except the socket.
final class SWIMPeriodDriver {
    enum Path {
        case codec, endpoint
    }

    static let memberCount = 50

    struct Datagram {
        var bytes: [UInt8]
        var from: Int
        var to: Int
    }

    let path: Path
    var endpoints: [SWIMEndpoint]
    let addresses: [GossipAddress]
    let indexByAddress: [GossipAddress: Int]
    let periodNs: Int64
    var now: SWIMInstant
    var queue: [Datagram] = []
    /// Datagrams sent, datagrams that did not decode or verify, member changes seen: counted from
    /// the end of the settling periods.
    private(set) var datagrams = 0
    private(set) var badDatagrams = 0
    private(set) var memberChanges = 0
    private(set) var periods = 0

    /// Forms a 50-member cluster in `SWIMSimulation` (deterministic, seed 42) and returns it once
    /// every member sees every other alive.
    static func formCluster() -> SWIMSimulation {
        var configuration = SWIMSimulation.Configuration()
        configuration.seed = 42
        let simulation = SWIMSimulation(configuration: configuration)
        for i in 0..<memberCount {
            simulation.addNode(id: "n\(i)", seeds: i == 0 ? [] : ["n0"])
            simulation.run(for: .milliseconds(3))
        }
        guard simulation.run(checkEvery: .milliseconds(50), timeout: .seconds(120), until: { $0.runningNodesConverged }) != nil else {
            fatalError("the 50-member SWIM cluster did not converge")
        }
        simulation.run(for: .seconds(3))
        return simulation
    }

    init(path: Path, cluster simulation: SWIMSimulation) {
        self.path = path
        let ids = simulation.nodeIDs
        endpoints = ids.map { simulation.endpoint($0) }
        addresses = ids.map { simulation.address(of: $0) }
        var index: [GossipAddress: Int] = [:]
        for (i, address) in addresses.enumerated() { index[address] = i }
        indexByAddress = index
        let period = simulation.configuration.settings.protocolPeriod.components
        periodNs = period.seconds * 1_000_000_000 + period.attoseconds / 1_000_000_000
        now = simulation.now
        _ = runPeriods(100)
        guard endpoints.allSatisfy({ $0.instance.aliveCount == Self.memberCount }) else {
            fatalError("the SWIM cluster is not steady after settling")
        }
        datagrams = 0
        badDatagrams = 0
        memberChanges = 0
        periods = 0
    }

    /// Runs whole cluster periods (`count` of them, i.e. `count` x 50 node-periods); returns a
    /// checksum of the datagrams' sizes.
    @inline(never)
    func runPeriods(_ count: Int) -> Int {
        var sum = 0
        for _ in 0..<count {
            now = SWIMInstant(nanoseconds: now.nanoseconds + periodNs)
            for node in endpoints.indices {
                tick(node)
                sum &+= drain()
            }
            periods += 1
        }
        return sum
    }

    private func tick(_ node: Int) {
        switch path {
        case .codec: handle(endpoints[node].instance.onTick(now: now), of: node)
        case .endpoint: handle(endpoints[node].tick(now: now), of: node)
        }
    }

    /// Delivers every queued datagram (and those its handling sends) at the current time.
    private func drain() -> Int {
        var sum = 0
        var next = 0
        while next < queue.count {
            let datagram = queue[next]
            next += 1
            sum &+= datagram.bytes.count
            switch path {
            case .codec:
                guard let message = try? SWIMCodec.decode(datagram.bytes) else {
                    badDatagrams += 1
                    continue
                }
                handle(endpoints[datagram.to].instance.onMessage(message, from: addresses[datagram.from], now: now), of: datagram.to)
            case .endpoint:
                handle(endpoints[datagram.to].receive(datagram.bytes, from: addresses[datagram.from], now: now), of: datagram.to)
            }
        }
        queue.removeAll(keepingCapacity: true)
        return sum
    }

    private func handle(_ directives: [SWIMDirective], of node: Int) {
        for directive in directives {
            switch directive {
            case .send(let message, let to): enqueue(SWIMCodec.encode(message), from: node, to: to)
            case .memberChanged: memberChanges += 1
            }
        }
    }

    private func handle(_ outputs: [SWIMEndpointOutput], of node: Int) {
        for output in outputs {
            switch output {
            case .datagram(let bytes, let to): enqueue(bytes, from: node, to: to)
            case .memberChanged: memberChanges += 1
            }
        }
    }

    private func enqueue(_ bytes: [UInt8], from node: Int, to address: GossipAddress) {
        datagrams += 1
        guard let target = indexByAddress[address] else { return }
        queue.append(Datagram(bytes: bytes, from: node, to: target))
    }
}
