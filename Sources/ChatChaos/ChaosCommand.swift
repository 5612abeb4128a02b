import ArgumentParser
import Foundation

/// `chat-chaos`: starts a local cluster (or uses a running one), runs clients through a seeded
/// schedule of SIGKILL / SIGTERM / SIGSTOP faults, checks DESIGN.md's invariants from what the
/// clients saw and what history holds, prints a report, and exits 1 on any violation (2 when the
/// run itself could not be set up).
@main
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-chaos",
        abstract: "Fault-inject a chat cluster and check its invariants.",
        discussion: """
            Every process it starts listens on 127.0.0.1 and is stopped by its PID, on exit and on SIGINT.
            Short run (CI):   chat-chaos --nodes 5 --duration 60 --faults-per-kind 6 --seed 1
            Long run:         chat-chaos --nodes 5 --clients 40 --rooms 8 --duration 600 --faults-per-kind 34 --seed 7
            Replay:           the same --seed (and --nodes, --duration, --faults-per-kind) gives the same schedule;
                              --print-schedule shows it without running anything.
            """)

    @Option(help: "Nodes of the local cluster.") var nodes = 5
    @Option(help: "Checked clients (users); each joins two rooms.") var clients = 20
    @Option(help: "Rooms.") var rooms = 4
    @Option(help: "Seconds of traffic (the run is longer: set-up, faults that overrun, drain).") var duration = 60.0
    @Option(help: "Seed of the fault schedule (default: random, printed).") var seed: UInt64?
    @Option(help: "Faults of each kind (kill, term, pause).") var faultsPerKind = 6
    @Option(help: "New messages per second per client.") var rate = 4.0
    @Option(help: "chat-node binary (default: chat-node next to this executable).") var nodeBinary: String?
    @Option(help: "redis-server binary (default: redis-server on PATH).") var redisServer: String?
    @Flag(help: "No Redis: nodes keep history in memory.") var noRedis = false
    @Option(
        parsing: .upToNextOption,
        help: "Use this running cluster (client URLs like http://127.0.0.1:8081) instead; then no faults can be injected.")
    var urls: [String] = []
    @Option(help: "Seconds within which every room must accept sends again after a fault.") var failoverBound = 10.0
    @Option(help: "Seconds within which a killed/stopped node's users must leave presence.") var presenceBound = 15.0
    @Option(help: "Directory for the cluster file and process logs (default: a new temporary directory).") var workDir: String?
    @Flag(help: "Print the report as one JSON line (after the human table on stderr).") var json = false
    @Flag(help: "Print the fault schedule for these options and exit.") var printSchedule = false

    func validate() throws {
        guard nodes >= 1, clients >= 1, rooms >= 1, duration > 0, faultsPerKind >= 0, rate > 0 else {
            throw ValidationError("--nodes, --clients, --rooms, --duration, --rate must be positive, --faults-per-kind >= 0")
        }
    }

    func run() async throws {
        let seed = self.seed ?? UInt64.random(in: 0...999_999)
        if printSchedule {
            let schedule = FaultSchedule(seed: seed, nodes: nodes, duration: duration, faultsPerKind: faultsPerKind)
            for fault in schedule.faults {
                print("#\(fault.index) at \(fault.at) s: \(fault.kind.rawValue) n\(fault.node + 1), recover after \(fault.recoverAfter) s")
            }
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
        let directory =
            workDir ?? (NSTemporaryDirectory() + "chat-chaos-\(seed)-\(ProcessInfo.processInfo.processIdentifier)")
        let settings = ChaosRunSettings(
            nodes: endpoints.isEmpty ? nodes : endpoints.count, clients: clients, rooms: rooms, duration: duration, seed: seed,
            faultsPerKind: faultsPerKind, rate: rate, nodeBinary: binary, redisServer: redis,
            urls: endpoints.isEmpty ? nil : endpoints, workDir: directory, failoverBound: failoverBound,
            presenceBound: presenceBound)
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
