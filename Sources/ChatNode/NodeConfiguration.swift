import ChatCore
import Cluster
import Foundation
import Gossip
import History
import Ring

/// Everything one node needs to run, resolved from the cluster file and the command line.
struct NodeConfiguration: Sendable {
    var nodeID = "n1"
    /// The node's address: what every listener binds and advertises unless told otherwise.
    var host = "127.0.0.1"
    /// `--bind` / "bind": the address every listener binds (e.g. 0.0.0.0).
    var bind: String?
    /// `--advertise` / "advertise": the address every listener advertises to the other nodes.
    var advertise: String?
    /// Per-listener overrides from the cluster file ("clientBind", "internalAdvertise", ...).
    var clientListener = NodeAddresses.Setting()
    var linkListener = NodeAddresses.Setting()
    var gossipListener = NodeAddresses.Setting()
    /// Hosts of the other nodes of the cluster file (their links' advertised hosts).
    var peerHosts: [String] = []
    var port = 8080
    /// Redis URL for the history cache; nil keeps history in this process's memory.
    var redis: RedisURL?
    /// Messages kept per room: the owner's log and the history cache's cap.
    var historyLimit = 1000
    /// `auth.secret` / `--auth-secret`: an HS256 key (no kid) for user JWTs. With it or with
    /// `authKeys`, auth is on: `hello`, posts and room reads need a token.
    var authSecret: String?
    /// `auth.keys`: more verification keys, each with its `kid` (rotation; ES256 public keys).
    var authKeys: [UserAuth.Key] = []

    /// Every user-token key, `auth.secret` first; empty: auth is off.
    var userAuthKeys: [UserAuth.Key] {
        (authSecret.map { [UserAuth.Key(kid: nil, algorithm: .hs256, material: $0)] } ?? []) + authKeys
    }
    var limits = ChatLimits()
    /// `allowedOrigins` / `--allowed-origin`: web origins (besides the node's own) whose pages may
    /// open the socket or post; nil: loopback origins (`OriginPolicy`).
    var allowedOrigins: [String]?
    /// `auth.protectOperations` / `--protect-operations`: `/metrics`, `/cluster` and
    /// `/rooms/{room}/replica` need the admin token (a Prometheus scrape sends it as a bearer token).
    var protectOperations = false
    /// `--page-debug`: the page exposes its test hooks (`window.__chatDebug`).
    var pageDebug = false
    /// TCP port of internal links; 0 picks a free one (a node nobody joins through).
    var internalPort = 0
    /// UDP port of gossip; 0 picks a free one.
    var gossipPort = 0
    /// Gossip addresses (`host:port`) to join through.
    var seeds: [GossipAddress] = []
    /// The cluster secret (gossip HMAC, link handshake). The default is for local experiments
    /// only; `SecretPolicy` refuses it (and any short one) on a non-loopback address.
    var secret = ClusterFile.developmentSecret
    var virtualNodes = HashRing.defaultVirtualNodes
    /// `"replication": {"factor": R}` / `--replication-factor`: each room is a majority group of
    /// R replicas (default 3: any one may fail); 0 selects the older successor replication,
    /// which can lose acked messages in a partition (see `ClusterConfiguration`).
    var replicationFactor = 3
    /// Name of the cluster file this came from, for logs.
    var source = "defaults"

    /// Where each listener binds and what it advertises (`NodeAddresses.resolve` says the rules
    /// and what is refused).
    func addresses() throws -> NodeAddresses {
        try NodeAddresses.resolve(
            nodeID: nodeID, host: host, bind: bind, advertise: advertise, client: clientListener, links: linkListener,
            gossip: gossipListener, peers: peerHosts + seeds.map(\.host))
    }

    /// Parses gossip seeds (`host:port`); nil when any of them is not one.
    static func seeds(_ strings: [String]) -> [GossipAddress]? {
        var addresses: [GossipAddress] = []
        for string in strings {
            guard let address = GossipAddress(string) else { return nil }
            addresses.append(address)
        }
        return addresses
    }
}

/// The cluster file (`cluster.example.json`): the nodes of a cluster and the settings they share.
///
/// Every node reads the same file and picks its own entry by `--node`.
struct ClusterFile: Decodable {
    /// One node. `host` is how the others reach it (and what it binds); `bind` and `advertise`
    /// split the two for every listener, and `clientBind`, `internalAdvertise`, ... for one.
    struct Node: Decodable {
        var id: String
        var host: String
        var clientPort: Int
        var internalPort: Int
        var gossipPort: Int
        var bind: String?
        var advertise: String?
        var clientBind: String?
        var clientAdvertise: String?
        var internalBind: String?
        var internalAdvertise: String?
        var gossipBind: String?
        var gossipAdvertise: String?

        /// The host the others send gossip to.
        var gossipHost: String { gossipAdvertise ?? advertise ?? host }
        /// The host the others open links to.
        var linkHost: String { internalAdvertise ?? advertise ?? host }
    }

    struct RingSettings: Decodable {
        var virtualNodes: Int?
    }

    static let developmentSecret = "insecure-development-secret"

    struct HistorySettings: Decodable {
        var limit: Int?
    }

    struct AuthSettings: Decodable {
        /// One key of `auth.keys`: `{"kid", "alg": "HS256", "secret"}` or
        /// `{"kid", "alg": "ES256", "publicKey": PEM}` / `"publicKeyFile": path`.
        struct KeySetting: Decodable {
            var kid: String
            var alg: String
            var secret: String?
            var publicKey: String?
            var publicKeyFile: String?

            func key() throws -> UserAuth.Key {
                switch alg {
                case "HS256":
                    guard let secret, !secret.isEmpty else { throw ConfigurationError("auth key '\(kid)' (HS256) needs \"secret\"") }
                    return UserAuth.Key(kid: kid, algorithm: .hs256, material: secret)
                case "ES256":
                    if let publicKey { return UserAuth.Key(kid: kid, algorithm: .es256, material: publicKey) }
                    guard let publicKeyFile else {
                        throw ConfigurationError("auth key '\(kid)' (ES256) needs \"publicKey\" or \"publicKeyFile\"")
                    }
                    guard let pem = try? String(contentsOfFile: publicKeyFile, encoding: .utf8) else {
                        throw ConfigurationError("auth key '\(kid)': cannot read \(publicKeyFile)")
                    }
                    return UserAuth.Key(kid: kid, algorithm: .es256, material: pem)
                default:
                    throw ConfigurationError("auth key '\(kid)': alg must be HS256 or ES256 (got \(alg))")
                }
            }
        }

        var secret: String?
        var keys: [KeySetting]?
        var protectOperations: Bool?
    }

    struct ReplicationSettings: Decodable {
        var factor: Int?
    }

    var nodes: [Node]
    var secret: String?
    /// Gossip seeds as `host:port`; default: every node of the file.
    var seeds: [String]?
    var ring: RingSettings?
    var redis: String?
    var history: HistorySettings?
    var auth: AuthSettings?
    var limits: ChatLimits?
    var replication: ReplicationSettings?
    var allowedOrigins: [String]?

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
        configuration.bind = node.bind
        configuration.advertise = node.advertise
        configuration.clientListener = .init(bind: node.clientBind, advertise: node.clientAdvertise)
        configuration.linkListener = .init(bind: node.internalBind, advertise: node.internalAdvertise)
        configuration.gossipListener = .init(bind: node.gossipBind, advertise: node.gossipAdvertise)
        configuration.peerHosts = nodes.filter { $0.id != id }.flatMap { [$0.linkHost, $0.gossipHost] }
        configuration.port = node.clientPort
        configuration.internalPort = node.internalPort
        configuration.gossipPort = node.gossipPort
        let seedStrings = seeds ?? nodes.map { GossipAddress(host: $0.gossipHost, port: $0.gossipPort).description }
        guard let parsed = NodeConfiguration.seeds(seedStrings) else {
            throw ConfigurationError("seeds must be host:port (got \(seedStrings))")
        }
        configuration.seeds = parsed
        if let secret {
            guard !secret.isEmpty else { throw ConfigurationError("secret must not be empty") }
            configuration.secret = secret
        }
        if let virtualNodes = ring?.virtualNodes { configuration.virtualNodes = virtualNodes }
        if let redis, !redis.isEmpty {
            guard let url = RedisURL(redis) else { throw ConfigurationError("redis '\(redis)' is not a redis:// URL") }
            configuration.redis = url
        }
        if let limit = history?.limit { configuration.historyLimit = limit }
        configuration.authSecret = auth?.secret
        configuration.authKeys = try (auth?.keys ?? []).map { try $0.key() }
        configuration.protectOperations = auth?.protectOperations ?? false
        if let limits { configuration.limits = limits }
        configuration.allowedOrigins = allowedOrigins
        if let factor = replication?.factor { configuration.replicationFactor = factor }
        configuration.source = path
        return configuration
    }
}

struct ConfigurationError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
