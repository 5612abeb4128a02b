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

/// The processes of a local cluster this tool started: an optional redis-server and one chat-node
/// per entry of a cluster file it wrote (free ports, everything on 127.0.0.1). Nodes are started
/// as `chat-node serve --config FILE --node nI`, with generous send limits so clients are never
/// `rate_limited`, and a history limit high enough that history keeps every message of a run.
struct LocalCluster: Sendable {
    static let historyLimit = 100_000

    let nodeIDs: [String]
    let endpoints: [Endpoint]
    let nodes: [ManagedProcess]
    let redis: ManagedProcess?
    let redisPort: Int?
    let configPath: String

    /// Plans the cluster and writes its file; starts nothing.
    init(nodeCount: Int, nodeBinary: String, redisServer: String?, workDir: String, secret: String) throws {
        let ports = LoopbackIO.freePorts(tcp: 2 * nodeCount + 1, udp: nodeCount)
        nodeIDs = (1...nodeCount).map { "n\($0)" }
        endpoints = (0..<nodeCount).map { Endpoint(host: "127.0.0.1", port: ports.tcp[2 * $0]) }
        configPath = workDir + "/cluster.json"
        if let redisServer {
            let port = ports.tcp[2 * nodeCount]
            redisPort = port
            try FileManager.default.createDirectory(atPath: workDir + "/redis", withIntermediateDirectories: true)
            redis = ManagedProcess(
                name: "redis", executable: redisServer,
                arguments: [
                    "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
                    "--dir", workDir + "/redis",
                ],
                logPath: workDir + "/redis.log")
        } else {
            redisPort = nil
            redis = nil
        }
        var nodeEntries: [[String: Any]] = []
        for index in 0..<nodeCount {
            var entry: [String: Any] = ["id": "n\(index + 1)", "host": "127.0.0.1"]
            entry["clientPort"] = ports.tcp[2 * index]
            entry["internalPort"] = ports.tcp[2 * index + 1]
            entry["gossipPort"] = ports.udp[index]
            nodeEntries.append(entry)
        }
        let redisURL: Any
        if let redisPort { redisURL = "redis://127.0.0.1:\(redisPort)" } else { redisURL = NSNull() }
        let limits: [String: Int] = [
            "maxFrameBytes": 65536, "maxTextLength": 4000, "sendsPerSecond": 100_000, "sendBurst": 100_000,
            "outboundQueueFrames": 65536, "maxRoomsPerConnection": 100,
        ]
        var file: [String: Any] = [:]
        file["secret"] = secret
        file["redis"] = redisURL
        file["history"] = ["limit": Self.historyLimit]
        file["ring"] = ["virtualNodes": NSNull()]
        file["auth"] = ["secret": NSNull()]
        file["limits"] = limits
        file["nodes"] = nodeEntries
        let data = try JSONSerialization.data(withJSONObject: file, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: configPath))
        let configPath = self.configPath
        nodes = nodeIDs.map { id in
            ManagedProcess(
                name: id, executable: nodeBinary, arguments: ["serve", "--config", configPath, "--node", id],
                logPath: workDir + "/\(id).log")
        }
    }

    /// Starts redis (waiting for PING), then every node, then waits until every node is ready and
    /// sees every other one alive.
    func start(timeout: Duration = .seconds(60)) async throws {
        if let redis, let redisPort {
            try redis.start()
            let deadline = ContinuousClock.now + .seconds(10)
            while !(await LoopbackIO.redisPing(port: redisPort)) {
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
