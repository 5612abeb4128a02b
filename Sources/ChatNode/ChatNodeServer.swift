import ChatCore
import Cluster
import Foundation
import History
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle

/// Assembles one node: history store, cluster membership and rooms, HTTP and WebSocket routes, metrics; and runs it
/// until SIGTERM or SIGINT, then shuts down gracefully (pending history writes are flushed).
struct ChatNodeServer {
    let configuration: NodeConfiguration
    let logger: Logger

    func run() async throws {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        Self.registerMetrics()
        ClientGuard.registerMetrics()
        var services: [any Service] = []
        let history: any HistoryStore
        if let url = configuration.redis {
            let store = RedisHistoryStore(
                configuration: .init(url: url, capacity: configuration.historyLimit), logger: logger)
            services.append(store)
            history = store
        } else {
            history = MemoryHistoryStore(capacity: configuration.historyLimit)
            Gauge(label: "chat_history_up").record(1)
        }
        let addresses = try configuration.addresses()
        // `SecretPolicy` has refused weak secrets off loopback already (in `Serve.resolve`).
        var clusterConfiguration = ClusterConfiguration(
            nodeID: configuration.nodeID, host: configuration.host, clientPort: configuration.port,
            internalPort: configuration.internalPort, gossipPort: configuration.gossipPort, seeds: configuration.seeds,
            secret: configuration.secret, virtualNodes: configuration.virtualNodes)
        clusterConfiguration.addresses = addresses
        clusterConfiguration.replicationFactor = configuration.replicationFactor
        clusterConfiguration.maxRooms = configuration.limits.maxRooms
        let cluster = ChatCluster(
            configuration: clusterConfiguration,
            roomConfiguration: .init(logCapacity: configuration.historyLimit),
            history: history,
            logger: logger,
            now: { Int64(Date().timeIntervalSince1970 * 1000) })
        services.append(cluster)
        let keys = configuration.userAuthKeys
        let auth = keys.isEmpty ? nil : try await UserAuth.make(keys: keys)
        let node = ChatNodeContext(configuration: configuration, cluster: cluster, auth: auth, logger: logger)

        let router = Router(context: ChatRequestContext.self)
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: JSONErrorMiddleware())
        let page = PageResponse(page: try Self.loadPage(), debug: configuration.pageDebug)
        HTTPRoutes.add(to: router, node: node, registry: registry, page: page)
        AdminRoutes.add(to: router, node: node)

        let app = Application(
            router: router,
            server: HTTPServerBuilder { responder in
                ChatServerChannel(
                    responder: responder, node: node,
                    http1: .init(idleTimeout: .milliseconds(Int64(configuration.limits.httpIdleTimeoutSeconds * 1000))))
            },
            configuration: .init(address: .hostname(addresses.client.bind, port: configuration.port), serverName: "chat-node"),
            services: services,
            onServerRunning: { _ in
                node.markReady()
                let line =
                    "chat-node \(configuration.nodeID) listening on http://\(addresses.client.bind):\(configuration.port)"
                    + " (advertised as \(addresses.client.advertise))\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            },
            logger: logger
        )
        logger.info(
            "starting node \(configuration.nodeID) (\(configuration.source)); history: \(configuration.redis?.description ?? "in memory")")
        try await app.runService()
    }

    /// Creates the node's own metrics at zero so that `/metrics` lists them from the start (the
    /// cluster's are created by `ClusterMetrics.register()` when the cluster is made).
    static func registerMetrics() {
        for label in [
            "chat_history_errors_total", "chat_history_writes_total", "chat_history_dropped_total",
            "chat_slow_consumer_disconnects_total", "chat_seed_dropped_total", "chat_history_skipped_total",
        ] {
            Counter(label: label).increment(by: 0)
        }
        for code in ErrorCode.allCases {
            Counter(label: "chat_errors_total", dimensions: [("code", code.rawValue)]).increment(by: 0)
        }
        Gauge(label: "chat_connections").record(0)
    }

    /// The browser page, bundled into the executable's resources.
    static func loadPage() throws -> ByteBuffer {
        guard let url = Bundle.module.url(forResource: "index", withExtension: "html", subdirectory: "Resources") else {
            throw ConfigurationError("the page (Resources/index.html) is missing from the build")
        }
        return ByteBuffer(bytes: Array(try Data(contentsOf: url)))
    }
}
