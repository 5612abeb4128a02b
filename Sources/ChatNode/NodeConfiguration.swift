import ChatCore
import Foundation
import History

/// Everything one node needs to run, resolved from the cluster file and the command line.
struct NodeConfiguration: Sendable {
    var nodeID = "n1"
    var host = "127.0.0.1"
    var port = 8080
    /// Redis URL for the history cache; nil keeps history in this process's memory.
    var redis: RedisURL?
    /// Messages kept per room: the owner's log and the history cache's cap.
    var historyLimit = 1000
    /// When set, `hello` and HTTP posts need a token derived from this secret.
    var authSecret: String?
    var limits = ChatLimits()
    /// Name of the cluster file this came from, for logs.
    var source = "defaults"
}

/// The cluster file (`cluster.example.json`): the nodes of a cluster and the settings they share.
///
/// Every node reads the same file and picks its own entry by `--node`.
struct ClusterFile: Decodable {
    struct Node: Decodable {
        var id: String
        var host: String
        var clientPort: Int
    }

    struct HistorySettings: Decodable {
        var limit: Int?
    }

    struct AuthSettings: Decodable {
        var secret: String?
    }

    var nodes: [Node]
    var redis: String?
    var history: HistorySettings?
    var auth: AuthSettings?
    var limits: ChatLimits?

    static func load(path: String) throws -> ClusterFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError("cannot read \(path): \(error.localizedDescription)")
        }
        do {
            return try JSONDecoder().decode(ClusterFile.self, from: data)
        } catch {
            throw ConfigurationError("\(path) is not a valid cluster file: \(error)")
        }
    }

    /// The configuration of node `id` of this file.
    func configuration(node id: String, path: String) throws -> NodeConfiguration {
        guard let node = nodes.first(where: { $0.id == id }) else {
            let known = nodes.map(\.id).joined(separator: ", ")
            throw ConfigurationError("node '\(id)' is not in \(path) (it lists: \(known))")
        }
        var configuration = NodeConfiguration()
        configuration.nodeID = node.id
        configuration.host = node.host
        configuration.port = node.clientPort
        if let redis, !redis.isEmpty {
            guard let url = RedisURL(redis) else { throw ConfigurationError("redis '\(redis)' is not a redis:// URL") }
            configuration.redis = url
        }
        if let limit = history?.limit { configuration.historyLimit = limit }
        configuration.authSecret = auth?.secret
        if let limits { configuration.limits = limits }
        configuration.source = path
        return configuration
    }
}

struct ConfigurationError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
