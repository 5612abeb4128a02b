import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Parameters of one run (the command line, resolved).
struct ChaosRunSettings: Sendable {
    var nodes: Int
    var clients: Int
    var rooms: Int
    var duration: Double
    var seed: UInt64
    var faultsPerKind: Int
    /// New messages per second per client.
    var rate: Double
    var nodeBinary: String
    /// nil: no Redis (in-memory history).
    var redisServer: String?
    /// Set: use this running cluster; no processes are started and no faults injected.
    var urls: [Endpoint]?
    var workDir: String
    var failoverBound: Double
    var presenceBound: Double
    /// Fault kinds of the schedule.
    var kinds: [FaultKind] = FaultKind.processKinds
    /// Set: run the nodes on this many netbed hosts (network namespaces) instead of loopback.
    var hosts: Int?
    /// `tests/netbed/netbed.py`.
    var netbedScript = "tests/netbed/netbed.py"
    /// The bed's `--subnet` (nil: netbed's default).
    var subnet: Int?
    var bedName = NetBed.defaultName()
    /// The nodes' history cap (cluster file), which the checker needs for the resume and lost rules.
    var historyLimit = LocalCluster.defaultHistoryLimit
    /// The nodes' replication factor (cluster file; nil: the nodes' default).
    var replicationFactor: Int?
    /// `InvariantChecker.liveGrace`.
    var liveGrace = 3.0
    /// Longest wait for outstanding acks once sending stops.
    var drainTimeout: Double = 20
}

/// Runs one chaos session: cluster up, clients joined, traffic with faults on the schedule, a
/// quiet period, then observations collected and checked.
///
/// Phases: (1) with `hosts`, `netbed.py up` (its `down` is registered with `ProcessRegistry`
/// first, so it runs at exit, on error and on SIGINT, after the processes are stopped); start
/// redis and nodes, wait until all are ready; (2) one watcher per node (a user
/// joined to every room, never sending, never reconnecting: the presence probe of that node) and
/// the checked clients, which join before any traffic; (3) traffic for `duration` seconds with the
/// faults of the schedule, one at a time, each waiting for the previous one's recovery and
/// presence measurement (so a run lasts longer than `duration` when faults take longer than
/// planned, and every planned fault is injected); traffic goes on at least 5 s after the last
/// fault; (4) sending stops, outstanding messages are retried until acked (bounded), then 3 s
/// of quiet; (5) client observations and every room's history are collected and checked.
final class ChaosRunner: Sendable {
    let settings: ChaosRunSettings
    let schedule: FaultSchedule
    private let clock = RunClock()
    private let log: @Sendable (String) -> Void

    init(settings: ChaosRunSettings, log: @escaping @Sendable (String) -> Void) {
        self.settings = settings
        self.log = log
        let faultsPerKind = settings.urls == nil ? settings.faultsPerKind : 0
        schedule = FaultSchedule(
            seed: settings.seed, nodes: settings.nodes, duration: settings.duration, faultsPerKind: faultsPerKind, kinds: settings.kinds)
    }

    func run() async throws -> ChaosReport {
        try FileManager.default.createDirectory(atPath: settings.workDir, withIntermediateDirectories: true)
        var cluster: LocalCluster?
        var bed: NetBed?
        let endpoints: [Endpoint]
        if let urls = settings.urls {
            endpoints = urls
        } else {
            let secret = "chaos-\(settings.seed)-" + (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined()
            let local: LocalCluster
            if let hosts = settings.hosts {
                let netbed = NetBed(script: settings.netbedScript, name: settings.bedName)
                bed = netbed
                // Registered before `up`, so a half-made bed is taken down too (down is idempotent).
                ProcessRegistry.shared.addCleanup { netbed.downBlocking() }
                log("netbed up --name \(netbed.name) --hosts \(hosts) (\(settings.netbedScript))")
                let info = try await netbed.up(hosts: hosts, subnet: settings.subnet)
                log(
                    "hosts: " + info.hosts.map { "n\($0.index)=\($0.address) (\($0.netns))" }.joined(separator: ", ")
                        + ", gateway \(info.gateway)")
                local = try LocalCluster(
                    layout: .bed(info), redisPort: settings.redisServer == nil ? nil : LoopbackIO.freePorts(tcp: 1, udp: 0).tcp[0],
                    nodeBinary: settings.nodeBinary, redisServer: settings.redisServer, workDir: settings.workDir, secret: secret,
                    historyLimit: settings.historyLimit, replicationFactor: settings.replicationFactor)
            } else {
                local = try LocalCluster(
                    nodeCount: settings.nodes, nodeBinary: settings.nodeBinary, redisServer: settings.redisServer,
                    workDir: settings.workDir, secret: secret, historyLimit: settings.historyLimit,
                    replicationFactor: settings.replicationFactor)
            }
            cluster = local
            log("starting \(settings.nodes) nodes\(settings.redisServer == nil ? "" : " and redis") (logs in \(settings.workDir))")
            do {
                try await local.start()
            } catch {
                await local.stop()
                throw error
            }
            endpoints = local.endpoints
        }
        do {
            let report = try await session(cluster: cluster, bed: bed, endpoints: endpoints)
            await cluster?.stop()
            return report
        } catch {
            await cluster?.stop()
            throw error
        }
    }

    private func session(cluster: LocalCluster?, bed: NetBed?, endpoints: [Endpoint]) async throws -> ChaosReport {
        let tag = String(UInt64.random(in: 0...UInt64.max) % 1_000_000_000, radix: 36)
        let rooms = (0..<settings.rooms).map { "chaos-\(tag)-r\($0)" }
        let group = MultiThreadedEventLoopGroup.singleton
        let probe = ClusterProbe(endpoints: endpoints)
        let watchers = WatcherSet()
        func newWatcher(node: Int) async -> ChaosClient {
            let generation = watchers.next(node: node)
            let watcher = ChaosClient(
                user: "w-n\(node + 1)-\(generation)", rooms: Array(rooms.prefix(100)), role: .watcher, firstNode: node,
                endpoints: endpoints, rate: 0, loop: group.next(), clock: clock)
            watcher.start()
            await waitReady([watcher], seconds: 15)
            watchers.set(node: node, watcher)
            return watcher
        }
        if cluster != nil {
            for node in endpoints.indices { _ = await newWatcher(node: node) }
        }
        let clients = (0..<settings.clients).map { index in
            let mine = settings.rooms > 1 ? [rooms[index % rooms.count], rooms[(index + 1) % rooms.count]] : [rooms[0]]
            return ChaosClient(
                user: "u\(index)-\(tag)", rooms: mine, role: .checked, firstNode: index % endpoints.count, endpoints: endpoints,
                rate: settings.rate, loop: group.next(), clock: clock)
        }
        for client in clients { client.start() }
        await waitReady(clients, seconds: 30)
        log(
            "\(clients.count) clients joined \(rooms.count) rooms; traffic for \(Int(settings.duration)) s, \(schedule.faults.count) faults"
        )
        let trafficStart = clock.now()
        for client in clients { await client.setSending(true) }

        var outcomes: [FaultOutcome] = []
        if let cluster {
            let injector = FaultInjector(
                cluster: cluster, bed: bed, probe: probe, clock: clock, rooms: Array(rooms.prefix(100)),
                presenceBound: settings.presenceBound,
                log: log)
            for fault in schedule.faults {
                let due = trafficStart + fault.at
                if clock.now() < due { try? await Task.sleep(for: .milliseconds(Int((due - clock.now()) * 1000))) }
                let watcher = watchers.current(node: fault.node)
                let outcome = await injector.run(fault, watcher: watcher?.user ?? "none")
                outcomes.append(outcome)
                await watcher?.shutdown()
                _ = await newWatcher(node: fault.node)
            }
        }
        let trafficEnd = max(trafficStart + settings.duration, (outcomes.last.map { _ in clock.now() + 5 }) ?? 0)
        if clock.now() < trafficEnd { try? await Task.sleep(for: .milliseconds(Int((trafficEnd - clock.now()) * 1000))) }
        for client in clients { await client.setSending(false) }
        log("\(format(clock.now())) s: sending stopped; waiting for outstanding acks")
        let drainDeadline = clock.now() + settings.drainTimeout
        while clock.now() < drainDeadline {
            var outstanding = 0
            for client in clients { outstanding += await client.pendingCount() }
            if outstanding == 0 { break }
            try? await Task.sleep(for: .milliseconds(200))
        }
        try? await Task.sleep(for: .seconds(3))
        let elapsed = clock.now()

        var observed: [ClientObservations] = []
        for client in clients { observed.append(await client.snapshot()) }
        var history: [String: [HistoryEntry]] = [:]
        var unreadable: [String] = []
        for room in rooms {
            if let entries = await probe.history(room: room) { history[room] = entries } else { unreadable.append(room) }
        }
        for client in clients { await client.shutdown() }
        for watcher in watchers.all() { await watcher.shutdown() }

        let observations = ChaosObservations(
            clients: observed, history: history, historyUnavailable: unreadable, faults: outcomes,
            historyLimit: settings.historyLimit, nodeNames: cluster?.nodeIDs ?? endpoints.map { "\($0.host):\($0.port)" })
        let checker = InvariantChecker(
            failoverBound: settings.failoverBound, presenceBound: settings.presenceBound, liveGrace: settings.liveGrace)
        let result = checker.check(observations)
        let setup = ChaosReport.Setup(
            nodes: endpoints.count, clients: settings.clients, rooms: settings.rooms, durationSeconds: settings.duration,
            seed: settings.seed, faultsPerKind: cluster == nil ? 0 : settings.faultsPerKind,
            history: settings.urls != nil ? "(existing cluster)" : (settings.redisServer == nil ? "in-memory" : "redis"),
            nodeBinary: settings.urls == nil ? settings.nodeBinary : "(existing cluster)", workDir: settings.workDir,
            faultsPossible: cluster != nil, placement: cluster?.layout.placement ?? "existing",
            faultKinds: settings.kinds.map(\.rawValue), historyLimit: settings.historyLimit, liveGraceSeconds: settings.liveGrace)
        for outcome in outcomes where !outcome.note.isEmpty { log("fault #\(outcome.fault.index): \(outcome.note)") }
        var report = ChaosReport(
            setup: setup, elapsed: elapsed, planned: schedule.faults.count, outcomes: outcomes, result: result, kinds: settings.kinds)
        let file = settings.workDir + "/violations.txt"
        let text = result.tally.sorted.map(\.line).joined(separator: "\n")
        if (try? Data((text.isEmpty ? "" : text + "\n").utf8).write(to: URL(fileURLWithPath: file))) != nil { report.violationsFile = file }
        // Everything the checker saw, to re-check or dig into a failing run (large: only then).
        if !result.passed, let data = try? JSONEncoder().encode(observations) {
            try? data.write(to: URL(fileURLWithPath: settings.workDir + "/observations.json"))
        }
        return report
    }

    private func waitReady(_ clients: [ChaosClient], seconds: Double) async {
        let deadline = clock.now() + seconds
        for client in clients {
            while clock.now() < deadline, !(await client.isReady()) {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}

/// The current presence probe (watcher) of each node, and every watcher ever made.
final class WatcherSet: Sendable {
    private struct State {
        var current: [Int: ChaosClient] = [:]
        var generations: [Int: Int] = [:]
        var all: [ChaosClient] = []
    }

    private let state = Mutex(State())

    func next(node: Int) -> Int {
        state.withLock { state in
            state.generations[node, default: 0] += 1
            return state.generations[node]!
        }
    }

    func set(node: Int, _ watcher: ChaosClient) {
        state.withLock { state in
            state.current[node] = watcher
            state.all.append(watcher)
        }
    }

    func current(node: Int) -> ChaosClient? { state.withLock { $0.current[node] } }
    func all() -> [ChaosClient] { state.withLock { $0.all } }
}
