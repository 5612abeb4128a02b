import ArgumentParser
import ChatCore
import Cluster
import Foundation
import History
import JWTKit
import Logging

/// `chat-node`: runs one node of the chat cluster, or prints an auth token.
@main
struct ChatNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-node",
        abstract: "A node of a brokerless chat cluster.",
        subcommands: [Serve.self, Token.self, Secret.self, Members.self, Rooms.self],
        defaultSubcommand: Serve.self
    )
}

extension ChatNodeCommand {
    /// Starts the node. Without options: one node on 127.0.0.1:8080 with in-memory history.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a chat node (the default).")

        @Option(help: "Cluster file (see cluster.example.json).") var config: String?
        @Option(help: "This node's id in the cluster file.") var node: String?
        @Option(help: "This node's address: bound and advertised by every listener (overrides the file's host).") var host: String?
        @Option(help: "Address every listener binds, e.g. 0.0.0.0 (default: host).") var bind: String?
        @Option(help: "Address the other nodes reach this one at (default: host); required when binding 0.0.0.0 without a host.")
        var advertise: String?
        @Option(help: "Client port for HTTP and WebSocket (overrides the file).") var port: Int?
        @Option(name: .customLong("node-id"), help: "Node id when no cluster file is given.") var nodeID: String?
        @Option(help: "History cache, redis://host:port[/db]; omitted: in-memory history.") var redis: String?
        @Option(help: "Messages kept per room (log and cache cap).") var historyLimit: Int?
        @Option(help: "Secret that turns auth on: hello and posts need a token.") var authSecret: String?
        @Option(help: "Longest text in characters.") var maxTextLength: Int?
        @Option(help: "Longest text in bytes of UTF-8.") var maxTextBytes: Int?
        @Option(help: "Largest inbound WebSocket message in bytes.") var maxFrameBytes: Int?
        @Option(help: "Sustained sends per second per connection.") var sendsPerSecond: Double?
        @Option(help: "Burst of sends per connection above the rate.") var sendBurst: Double?
        @Option(help: "Frames queued for one slow client before it is disconnected.") var outboundQueueFrames: Int?
        @Option(
            name: .customLong("limit"),
            help: "A client limit as NAME=VALUE, e.g. helloTimeoutSeconds=5 (repeatable; the names of the cluster file's \"limits\").")
        var limitSettings: [String] = []
        @Option(
            name: .customLong("allowed-origin"),
            help: "A web origin whose pages may use this node, e.g. https://chat.example.com (repeatable; default: loopback).")
        var allowedOrigins: [String] = []
        @Flag(help: "Put /metrics, /cluster and /rooms/{room}/replica behind the admin token (chat-node token --admin).")
        var protectOperations = false
        @Flag(help: "Expose the page's test hooks (window.__chatDebug); for the browser tests, never production.")
        var pageDebug = false
        @Option(help: "TCP port of internal links (0: any free port).") var internalPort: Int?
        @Option(help: "UDP port of gossip (0: any free port).") var gossipPort: Int?
        @Option(name: .customLong("seed"), help: "Gossip address host:port to join through (repeatable).") var seeds: [String] = []
        @Option(help: "The cluster secret (gossip and internal links).") var secret: String?
        @Option(help: "Virtual nodes per member on the ring.") var virtualNodes: Int?
        @Option(help: "Replicas of each room's majority group (default 3; 0: the older successor replication).")
        var replicationFactor: Int?
        @Option(help: "trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"

        func resolve() throws -> NodeConfiguration {
            var configuration = NodeConfiguration()
            if let config {
                let file = try ClusterFile.load(path: config)
                configuration = try file.configuration(node: node ?? nodeID ?? "n1", path: config)
            } else if node != nil {
                throw ValidationError("--node needs --config")
            }
            if let nodeID { configuration.nodeID = nodeID }
            if let host { configuration.host = host }
            if let bind { configuration.bind = bind }
            if let advertise { configuration.advertise = advertise }
            if let port { configuration.port = port }
            if let redis {
                if redis.isEmpty || redis == "none" {
                    configuration.redis = nil
                } else {
                    guard let url = RedisURL(redis) else { throw ValidationError("--redis must be redis://host:port[/db]") }
                    configuration.redis = url
                }
            }
            if !allowedOrigins.isEmpty { configuration.allowedOrigins = allowedOrigins }
            if pageDebug { configuration.pageDebug = true }
            if protectOperations { configuration.protectOperations = true }
            if let internalPort { configuration.internalPort = internalPort }
            if let gossipPort { configuration.gossipPort = gossipPort }
            if !seeds.isEmpty {
                guard let parsed = NodeConfiguration.seeds(seeds) else { throw ValidationError("--seed must be host:port") }
                configuration.seeds = parsed
            }
            if let secret {
                guard !secret.isEmpty else { throw ValidationError("--secret must not be empty") }
                configuration.secret = secret
            }
            if let virtualNodes {
                guard virtualNodes >= 1 else { throw ValidationError("--virtual-nodes must be at least 1") }
                configuration.virtualNodes = virtualNodes
            }
            if let replicationFactor { configuration.replicationFactor = replicationFactor }
            guard configuration.replicationFactor >= 0 else { throw ValidationError("--replication-factor must be 0 or more") }
            if let historyLimit { configuration.historyLimit = historyLimit }
            if let authSecret { configuration.authSecret = authSecret.isEmpty ? nil : authSecret }
            if let maxTextLength { configuration.limits.maxTextLength = maxTextLength }
            if let maxTextBytes { configuration.limits.maxTextBytes = maxTextBytes }
            if let maxFrameBytes { configuration.limits.maxFrameBytes = maxFrameBytes }
            if let sendsPerSecond { configuration.limits.sendsPerSecond = sendsPerSecond }
            if let sendBurst { configuration.limits.sendBurst = sendBurst }
            if let outboundQueueFrames { configuration.limits.outboundQueueFrames = outboundQueueFrames }
            do {
                configuration.limits = try configuration.limits.applying(limitSettings)
            } catch let error as ConfigurationError {
                throw ValidationError(error.description)
            }
            let addresses: NodeAddresses
            do {
                addresses = try configuration.addresses()
            } catch let error as NodeAddressError {
                throw ValidationError(error.description)
            }
            if let problem = SecretPolicy.problem(configuration, addresses: addresses) { throw ValidationError(problem) }
            if let problem = configuration.userAuthKeys.lazy.compactMap(UserAuth.problem(of:)).first {
                throw ValidationError(problem)
            }
            guard configuration.historyLimit >= 1 else { throw ValidationError("--history-limit must be at least 1") }
            guard (1...65535).contains(configuration.port) else { throw ValidationError("port must be 1-65535") }
            if let problem = configuration.limits.problem { throw ValidationError(problem) }
            return configuration
        }

        func run() async throws {
            let configuration = try resolve()
            var logger = Logger(label: "chat-node.\(configuration.nodeID)")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            try await ChatNodeServer(configuration: configuration, logger: logger).run()
        }
    }

    /// Prints a new random secret for `"secret"` or `"auth.secret"`.
    struct Secret: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new random secret (32 bytes, base64url) for the cluster file's \"secret\" or \"auth.secret\".")

        func run() throws {
            print(SecretPolicy.generate())
        }
    }

    /// Prints the token a user presents when the node runs with an auth secret, or the admin token.
    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a user's token (an HS256 JWT), or the admin token.",
            discussion: "A login service in front of the cluster mints the same JWTs: sub = user, exp, optional kid and rooms.")

        @Option(help: "The auth secret, or the secret of the auth key --kid names (with --admin: the cluster secret).")
        var secret: String
        @Option(help: "The user name (the token's sub).") var user: String?
        @Option(help: "Seconds until the token expires.") var ttl: Int = 86_400
        @Option(help: "The key id of an auth.keys entry (its secret is --secret); omitted: auth.secret.") var kid: String?
        @Option(help: "Comma-separated room patterns the token allows (* matches anything); omitted: every room.")
        var rooms: String?
        @Flag(help: "Print the admin token of the /admin routes, derived from the cluster secret.") var admin = false

        func run() async throws {
            if admin { return print(AdminToken(secret: secret).value) }
            guard let user, let normalized = Validation.normalizedUser(user) else {
                throw ValidationError("--user must be 1-32 characters and at most 128 bytes, without control or format characters")
            }
            guard ttl > 0 else { throw ValidationError("--ttl must be positive") }
            let patterns = rooms.map { $0.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) } }
            let key = UserAuth.Key(kid: kid, algorithm: .hs256, material: secret)
            if let problem = UserAuth.problem(of: key) { throw ValidationError(problem) }
            let auth = try await UserAuth.make(keys: [key])
            // The token names the user as a node sees it after `hello`: in NFC.
            let claims = UserClaims(
                sub: .init(value: normalized),
                exp: .init(value: Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + Double(ttl)).rounded(.down))),
                rooms: patterns)
            print(try await auth.mint(claims, kid: kid))
        }
    }
}
