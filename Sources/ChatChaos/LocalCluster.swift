import Foundation

/// Where a node serves clients.
struct Endpoint: Sendable, Hashable {
    var host: String
    var port: Int

    /// Parses `http://host:port`, `ws://host:port/...` or `host:port`.
    init?(url: String) {
        var text = url
        if let scheme = text.range(of: "://") { text = String(text[scheme.upperBound...]) }
        text = String(text.prefix { $0 != "/" })
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        host = String(text[..<colon])
        self.port = port
    }

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// The processes of a cluster this tool started: an optional redis-server and one chat-node per
/// node of a `ClusterLayout` (on loopback, or in the network namespaces of a netbed), from a
/// cluster file it wrote. Nodes are started as `chat-node serve --config FILE --node nI`, with
/// generous send limits so clients are never `rate_limited`, and a history limit high enough that
/// history keeps every message of a run.
struct LocalCluster: Sendable {
    /// Default messages kept per room: enough that history keeps every message of a run.
    static let defaultHistoryLimit = 100_000

    let historyLimit: Int
    let layout: ClusterLayout
    let nodeIDs: [String]
    let endpoints: [Endpoint]
    let nodes: [ManagedProcess]
    let redis: ManagedProcess?
    let redisPort: Int?
    let configPath: String

    /// Plans a loopback cluster of `nodeCount` nodes on free ports.
    init(
        nodeCount: Int, nodeBinary: String, redisServer: String?, workDir: String, secret: String, historyLimit: Int,
        replicationFactor: Int? = nil
    ) throws {
        let ports = LoopbackIO.freePorts(tcp: 2 * nodeCount + 1, udp: nodeCount)
        let layout = ClusterLayout.loopback(count: nodeCount, tcp: ports.tcp, udp: ports.udp)
        try self.init(
            layout: layout, redisPort: redisServer == nil ? nil : ports.tcp[2 * nodeCount], nodeBinary: nodeBinary,
            redisServer: redisServer, workDir: workDir, secret: secret, historyLimit: historyLimit,
            replicationFactor: replicationFactor)
    }

    /// Plans the cluster of `layout` and writes its file; starts nothing.
    init(
        layout: ClusterLayout, redisPort: Int?, nodeBinary: String, redisServer: String?, workDir: String, secret: String,
        historyLimit: Int, replicationFactor: Int? = nil
    ) throws {
        self.layout = layout
        self.historyLimit = historyLimit
        nodeIDs = layout.nodes.map(\.id)
        endpoints = layout.endpoints
        configPath = workDir + "/cluster.json"
        if let redisServer, let redisPort {
            self.redisPort = redisPort
            try FileManager.default.createDirectory(atPath: workDir + "/redis", withIntermediateDirectories: true)
            redis = ManagedProcess(
                name: "redis", executable: redisServer,
                arguments: [
                    "--port", String(redisPort), "--bind", layout.redisHost, "--save", "", "--appendonly", "no", "--daemonize", "no",
                    "--dir", workDir + "/redis",
                    // Off the loopback address (the bed's gateway) protected mode would refuse the nodes.
                    "--protected-mode", layout.redisHost == "127.0.0.1" ? "yes" : "no",
                ],
                logPath: workDir + "/redis.log")
        } else {
            self.redisPort = nil
            redis = nil
        }
        let data = try layout.clusterFile(
            secret: secret, redisPort: redisPort, historyLimit: historyLimit, replicationFactor: replicationFactor)
        try data.write(to: URL(fileURLWithPath: configPath))
        let configPath = self.configPath
        let ip = ClusterLayout.findIP()
        nodes = layout.nodes.indices.map { index in
            let command = layout.command(node: index, nodeBinary: nodeBinary, configPath: configPath, ipBinary: ip)
            return ManagedProcess(
                name: layout.nodes[index].id, executable: command.executable, arguments: command.arguments,
                logPath: workDir + "/\(layout.nodes[index].id).log")
        }
    }

    /// Starts redis (waiting for PING), then every node, then waits until every node is ready and
    /// sees every other one alive.
    func start(timeout: Duration = .seconds(60)) async throws {
        if let redis, let redisPort {
            try redis.start()
            let deadline = ContinuousClock.now + .seconds(10)
            while !(await LoopbackIO.redisPing(host: layout.redisHost, port: redisPort)) {
                guard ContinuousClock.now < deadline, redis.isRunning else { throw ChaosError.setup("redis-server did not answer PING") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        for node in nodes { try node.start() }
        let deadline = ContinuousClock.now + timeout
        for index in nodes.indices {
            while !(await isFormed(index)) {
                guard ContinuousClock.now < deadline else { throw ChaosError.setup("node \(nodeIDs[index]) did not become ready") }
                guard nodes[index].isRunning else { throw ChaosError.setup("node \(nodeIDs[index]) exited; see its log") }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// /readyz is 200 and /cluster lists every node alive.
    func isFormed(_ index: Int) async -> Bool {
        guard await isReady(index),
            let response = try? await LoopbackIO.get(endpoint: endpoints[index], path: "/cluster"), response.status == 200
        else { return false }
        let text = String(decoding: response.body, as: UTF8.self)
        let alive = text.components(separatedBy: "\"status\":\"alive\"").count - 1
        return alive >= nodes.count
    }

    func isReady(_ index: Int) async -> Bool {
        (try? await LoopbackIO.get(endpoint: endpoints[index], path: "/readyz"))?.status == 200
    }

    /// Stops every node, then redis.
    func stop() async {
        await withTaskGroup(of: Void.self) { group in
            for node in nodes { group.addTask { await node.stop() } }
        }
        await redis?.stop()
    }
}

/// Why a run could not be carried out (as opposed to a violation it found).
enum ChaosError: Error, CustomStringConvertible {
    case setup(String)

    var description: String {
        switch self {
        case .setup(let message): "setup failed: \(message)"
        }
    }
}
