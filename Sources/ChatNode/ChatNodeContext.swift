import ChatCore
import Cluster
import Logging
import Synchronization

/// What every request handler of a node shares: its identity, limits, rooms and auth.
final class ChatNodeContext: Sendable {
    let nodeID: String
    let configuration: NodeConfiguration
    let cluster: ChatCluster
    /// User authentication (JWTs); nil: auth is off.
    let auth: UserAuth?
    let logger: Logger
    /// The limits that span connections: connection counts and per-user and per-address rates.
    let clientGuard: ClientGuard
    /// Which web origins may open the socket or post.
    let origins: OriginPolicy
    private let nextConnection = Atomic<UInt64>(0)
    private let sessionPrefix: String
    private let ready = Atomic<Bool>(false)

    /// Whether the node serves and has joined the cluster (PROTOCOL.md `/readyz`).
    var isReady: Bool { ready.load(ordering: .relaxed) && cluster.isReady }

    func markReady() { ready.store(true, ordering: .relaxed) }

    var limits: ChatLimits { configuration.limits }

    init(configuration: NodeConfiguration, cluster: ChatCluster, auth: UserAuth?, logger: Logger) {
        self.nodeID = configuration.nodeID
        self.configuration = configuration
        self.cluster = cluster
        self.auth = auth
        self.logger = logger
        self.clientGuard = ClientGuard(limits: configuration.limits)
        self.origins = OriginPolicy(allowedOrigins: configuration.allowedOrigins)
        self.sessionPrefix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    /// A fresh connection id and its session name, unique across restarts of this node.
    func newSession() -> (id: UInt64, session: String) {
        let id = nextConnection.add(1, ordering: .relaxed).newValue
        return (id, "\(nodeID)-\(sessionPrefix)-\(id)")
    }
}
