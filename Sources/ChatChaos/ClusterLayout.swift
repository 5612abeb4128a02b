import Foundation

/// Where the processes of a cluster this tool starts live: every node's address, ports and
/// network namespace, and Redis's address. Pure: the cluster file and the command lines follow
/// from it.
///
/// Loopback: everything on 127.0.0.1 with free ports. Hosts (`--hosts`): node i at netbed host
/// i's address inside its namespace, with the same fixed ports on every host (`bedPorts`), and
/// Redis in the root namespace on the bed's gateway address, which every host reaches.
struct ClusterLayout: Sendable, Hashable {
    struct Node: Sendable, Hashable {
        var id: String
        var host: String
        var clientPort: Int
        var internalPort: Int
        var gossipPort: Int
        /// Run inside this network namespace (`ip netns exec`); nil: the tool's own namespace.
        var netns: String?
    }

    /// Client, internal (TCP) and gossip (UDP) ports of every node on a bed host.
    static let bedPorts = (client: 8080, internal: 8081, gossip: 8082)

    var nodes: [Node]
    var redisHost: String
    /// Where the namespaced nodes are (nil: loopback).
    var placement: String

    var endpoints: [Endpoint] { nodes.map { Endpoint(host: $0.host, port: $0.clientPort) } }

    /// `count` nodes on 127.0.0.1; `ports` holds 2 TCP ports per node (client, internal) and
    /// `udp` one gossip port per node.
    static func loopback(count: Int, tcp ports: [Int], udp: [Int]) -> ClusterLayout {
        let nodes = (0..<count).map { index in
            Node(
                id: "n\(index + 1)", host: "127.0.0.1", clientPort: ports[2 * index], internalPort: ports[2 * index + 1],
                gossipPort: udp[index], netns: nil)
        }
        return ClusterLayout(nodes: nodes, redisHost: "127.0.0.1", placement: "loopback")
    }

    /// One node per bed host, in host order.
    static func bed(_ info: NetBed.Info) -> ClusterLayout {
        let nodes = info.hosts.sorted { $0.index < $1.index }.map { host in
            Node(
                id: "n\(host.index)", host: host.address, clientPort: bedPorts.client, internalPort: bedPorts.internal,
                gossipPort: bedPorts.gossip, netns: host.netns)
        }
        return ClusterLayout(nodes: nodes, redisHost: info.gateway, placement: "hosts")
    }

    /// The cluster file every node reads (`--config`).
    /// `replicationFactor` is written as `"replication": {"factor": R}` when given.
    func clusterFile(secret: String, redisPort: Int?, historyLimit: Int, replicationFactor: Int? = nil) throws -> Data {
        let entries: [[String: Any]] = nodes.map { node in
            [
                "id": node.id, "host": node.host, "clientPort": node.clientPort, "internalPort": node.internalPort,
                "gossipPort": node.gossipPort,
            ]
        }
        // Generous send limits so clients are never `rate_limited`.
        let limits: [String: Int] = [
            "maxFrameBytes": 65536, "maxTextLength": 4000, "sendsPerSecond": 100_000, "sendBurst": 100_000,
            "outboundQueueFrames": 65536, "maxRoomsPerConnection": 100,
        ]
        var file: [String: Any] = [:]
        file["secret"] = secret
        file["redis"] = redisPort.map { "redis://\(redisHost):\($0)" as Any } ?? NSNull()
        file["history"] = ["limit": historyLimit]
        file["ring"] = ["virtualNodes": NSNull()]
        file["auth"] = ["secret": NSNull()]
        file["limits"] = limits
        file["nodes"] = entries
        if let replicationFactor { file["replication"] = ["factor": replicationFactor] }
        return try JSONSerialization.data(withJSONObject: file, options: [.prettyPrinted, .sortedKeys])
    }

    /// Executable and arguments that start node `index`: `chat-node serve --config FILE --node
    /// nI`, behind `ip netns exec NETNS` for a namespaced node (ip execs the node in place, so
    /// the started process's PID is the node's, and it is signalled by that PID only).
    func command(node index: Int, nodeBinary: String, configPath: String, ipBinary: String) -> (executable: String, arguments: [String]) {
        let node = nodes[index]
        let own = ["serve", "--config", configPath, "--node", node.id]
        guard let netns = node.netns else { return (nodeBinary, own) }
        return (ipBinary, ["netns", "exec", netns, nodeBinary] + own)
    }

    /// `ip` on the usual paths or PATH.
    static func findIP() -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"] + path.split(separator: ":").map { "\($0)/ip" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "ip"
    }
}
