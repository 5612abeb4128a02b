public struct GossipConfiguration: Sendable {
    public var nodeID: String
    public var bindHost: String
    public var bindPort: Int
    /// The address other members reach us at. Defaults to `bindHost:boundPort` (the port
    /// actually bound, so port 0 works); a wildcard bind host (`0.0.0.0`, `::`) is advertised as
    /// 127.0.0.1, so set this when binding to all interfaces of a real host.
    public var advertisedAddress: GossipAddress?
    /// The host other members reach us at, with the port actually bound (so port 0 works); used
    /// when `advertisedAddress` is nil.
    public var advertisedHost: String?
    /// Addresses to join through; may include our own address, which is ignored.
    public var seeds: [GossipAddress]
    /// Cluster secret: datagrams are sealed with AES-256-GCM under a key derived from it
    /// (`GossipSealer`).
    public var secret: String
    /// More secrets whose datagrams are opened (the key ring of `GossipSealer`); `secret` seals.
    /// A new secret goes here on every node first, then becomes `secret` everywhere.
    public var acceptedSecrets: [String] = []
    public var metadata: [String: String]
    public var settings: SWIMSettings
    /// Whether graceful shutdown (SIGTERM) starts the leave by itself. A host that must do
    /// something first (hand its rooms off) turns this off and calls `leave()` when done.
    public var leavesOnGracefulShutdown = true

    public init(
        nodeID: String, bindHost: String, bindPort: Int, seeds: [GossipAddress], secret: String,
        metadata: [String: String] = [:], settings: SWIMSettings = .init()
    ) {
        self.nodeID = nodeID
        self.bindHost = bindHost
        self.bindPort = bindPort
        self.advertisedAddress = nil
        self.advertisedHost = nil
        self.seeds = seeds
        self.secret = secret
        self.metadata = metadata
        self.settings = settings
    }
}
