import ArgumentParser
import Foundation

/// `chat-chaos`: starts a cluster (on loopback, or on network-namespaced hosts with `--hosts`) or
/// uses a running one, runs clients through a seeded schedule of process faults (SIGKILL,
/// SIGTERM, SIGSTOP) and, with `--hosts`, network faults, checks DESIGN.md's invariants and
/// PROTOCOL.md's guarantees from what the clients saw and what history holds, prints a report,
/// and exits 1 on any violation (2 when the run itself could not be set up).
@main
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-chaos",
        abstract: "Fault-inject a chat cluster and check its invariants.",
        discussion: """
            Every process it starts is stopped by its PID, on exit, on error and on SIGINT; with --hosts the test
            network is taken down (netbed.py down) in all those cases too.
            Short run (CI):   chat-chaos --nodes 5 --duration 60 --faults-per-kind 6 --seed 1
            Long run:         chat-chaos --nodes 5 --clients 40 --rooms 8 --duration 600 --faults-per-kind 34 --seed 7
            Real hosts:       chat-chaos --hosts 3 --duration 60 --faults-per-kind 2 --net-faults partition,asym,route,vanish,loss,delay
                              (root; nodes in network namespaces of tests/netbed/netbed.py, Redis on the bed's gateway)
            Replay:           the same --seed (and --nodes/--hosts, --duration, --faults-per-kind, --faults, --net-faults)
                              gives the same schedule; --print-schedule shows it without running anything.
            Every violation is printed with its room, seqs, user/id, node, time and the fault before it; all of them
            are also written to WORKDIR/violations.txt (and what the clients observed to WORKDIR/observations.json).
            """)

    @Option(help: "Nodes of the local cluster on 127.0.0.1 (default 5).") var nodes: Int?
    @Option(help: "Run the nodes on this many netbed hosts (network namespaces; needs root) instead of loopback.") var hosts: Int?
    @Option(help: "netbed.py (with --hosts).") var netbed = "tests/netbed/netbed.py"
    @Option(help: "Subnet K of the bed (10.77.K.0/24; with --hosts; default: netbed's).") var subnet: Int?
    @Option(help: "Checked clients (users); each joins two rooms.") var clients = 20
    @Option(help: "Rooms.") var rooms = 4
    @Option(help: "Seconds of traffic (the run is longer: set-up, faults that overrun, drain).") var duration = 60.0
    @Option(help: "Seed of the fault schedule (default: random, printed).") var seed: UInt64?
    @Option(help: "Faults of each scheduled kind.") var faultsPerKind = 6
    @Option(help: "Process fault kinds: kill, term, stop (comma-separated; empty: none).") var faults = "kill,term,stop"
    @Option(help: "Network fault kinds (with --hosts): partition, asym, route, vanish, loss, delay (comma-separated).")
    var netFaults = ""
    @Option(help: "New messages per second per client.") var rate = 4.0
    @Option(help: "chat-node binary (default: chat-node next to this executable).") var nodeBinary: String?
    @Option(help: "redis-server binary (default: redis-server on PATH).") var redisServer: String?
    @Flag(help: "No Redis: nodes keep history in memory.") var noRedis = false
    @Option(help: "The nodes' replication factor (cluster file; default: the nodes' default, majority groups of 3).")
    var replicationFactor: Int?
    @Option(
        parsing: .upToNextOption,
        help: "Use this running cluster (client URLs like http://127.0.0.1:8081) instead; then no faults can be injected.")
    var urls: [String] = []
    @Option(
        help: ArgumentHelp(
            "Messages the nodes keep per room (their --history-limit; default 100000, or 1000 with --urls).",
            discussion: "Written to the cluster file of a cluster this tool starts. The checker allows a truncated resume only beyond it."))
    var historyLimit: Int?
    @Option(help: "Seconds within which every room must accept sends again after a fault, and every send be acked.")
    var failoverBound = 10.0
    @Option(help: "Seconds within which a killed/terminated node's users must leave presence.") var presenceBound = 15.0
    @Option(
        help: "Seconds after its ack within which a message need not yet have arrived live before its connection ended.")
    var liveGrace = 3.0
    @Option(help: "Directory for the cluster file and process logs (default: a new temporary directory).") var workDir: String?
    @Flag(help: "Print the report as one JSON line (after the human table on stderr).") var json = false
    @Flag(help: "Print the fault schedule for these options and exit.") var printSchedule = false

    func validate() throws {
        guard clients >= 1, rooms >= 1, duration > 0, faultsPerKind >= 0, rate > 0, liveGrace >= 0 else {
            throw ValidationError("--clients, --rooms, --duration, --rate must be positive, --faults-per-kind and --live-grace >= 0")
        }
        if hosts != nil, nodes != nil || !urls.isEmpty { throw ValidationError("--hosts excludes --nodes and --urls") }
        if nodes != nil, !urls.isEmpty { throw ValidationError("--nodes excludes --urls") }
        if let count = hosts ?? nodes, count < 1 { throw ValidationError("--nodes/--hosts must be at least 1") }
        if let historyLimit, historyLimit < 1 { throw ValidationError("--history-limit must be at least 1") }
        let kinds = try faultKinds()
        if hosts == nil, kinds.contains(where: \.isNetwork) { throw ValidationError("--net-faults needs --hosts") }
    }

    /// The fault kinds of `--faults` and `--net-faults`.
    func faultKinds() throws -> [FaultKind] {
        do {
            return try FaultKind.parseList(faults, allowed: FaultKind.processKinds)
                + FaultKind.parseList(netFaults, allowed: FaultKind.networkKinds)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let seed = self.seed ?? UInt64.random(in: 0...999_999)
        let kinds = try faultKinds()
        let nodeCount = hosts ?? nodes ?? 5
        if printSchedule {
            let schedule = FaultSchedule(seed: seed, nodes: nodeCount, duration: duration, faultsPerKind: faultsPerKind, kinds: kinds)
            for fault in schedule.faults { print(fault.line) }
            return
        }
        let endpoints = try urls.map { url in
            guard let endpoint = Endpoint(url: url) else { throw ValidationError("cannot read \(url) as host:port") }
            return endpoint
        }
        let redis: String? = noRedis || !endpoints.isEmpty ? nil : try resolveRedis()
        let binary = nodeBinary ?? Self.siblingNodeBinary()
        if endpoints.isEmpty, !FileManager.default.isExecutableFile(atPath: binary) {
            throw ValidationError("chat-node binary not found at \(binary) (use --node-binary)")
        }
        if hosts != nil, !FileManager.default.fileExists(atPath: netbed) {
            throw ValidationError("netbed script not found at \(netbed) (run from the repository root or use --netbed)")
        }
        let directory =
            workDir ?? (NSTemporaryDirectory() + "chat-chaos-\(seed)-\(ProcessInfo.processInfo.processIdentifier)")
        var settings = ChaosRunSettings(
            nodes: endpoints.isEmpty ? nodeCount : endpoints.count, clients: clients, rooms: rooms, duration: duration, seed: seed,
            faultsPerKind: faultsPerKind, rate: rate, nodeBinary: binary, redisServer: redis,
            urls: endpoints.isEmpty ? nil : endpoints, workDir: directory, failoverBound: failoverBound,
            presenceBound: presenceBound)
        settings.kinds = kinds
        settings.hosts = hosts
        settings.netbedScript = netbed
        settings.subnet = subnet
        settings.historyLimit = historyLimit ?? (endpoints.isEmpty ? LocalCluster.defaultHistoryLimit : 1000)
        settings.liveGrace = liveGrace
        settings.replicationFactor = replicationFactor
        let signalSources = ProcessRegistry.shared.stopOnInterrupt()
        defer { signalSources.forEach { $0.cancel() } }
        let log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(("chat-chaos: " + $0 + "\n").utf8)) }
        log("seed \(seed)" + (endpoints.isEmpty ? "" : " (existing cluster: no faults are injected)"))
        let report: ChaosReport
        do {
            report = try await ChaosRunner(settings: settings, log: log).run()
        } catch {
            ProcessRegistry.shared.stopAllBlocking()
            log("\(error)")
            throw ExitCode(2)
        }
        ProcessRegistry.shared.stopAllBlocking()
        if json {
            FileHandle.standardError.write(Data((report.table + "\n").utf8))
            print(report.jsonLine)
        } else {
            print(report.table)
        }
        if !report.passed { throw ExitCode(1) }
    }

    private func resolveRedis() throws -> String {
        if let redisServer { return redisServer }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ValidationError("redis-server not found on PATH (install it, pass --redis-server, or use --no-redis)")
    }

    /// `chat-node` in the directory of this executable (both are products of the same build).
    static func siblingNodeBinary() -> String {
        let own = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return own.deletingLastPathComponent().appendingPathComponent("chat-node").path
    }
}
