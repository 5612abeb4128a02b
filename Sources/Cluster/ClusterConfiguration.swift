import Gossip

/// How one node takes part in the cluster.
public struct ClusterConfiguration: Sendable {
    public var nodeID: String
    /// Where each listener binds and what it advertises to the other nodes.
    public var addresses: NodeAddresses
    public var clientPort: Int
    /// TCP port of internal links; 0 picks a free one (fine for a node nobody seeds from).
    public var internalPort: Int
    /// UDP port of gossip; 0 picks a free one.
    public var gossipPort: Int
    /// Gossip addresses to join through (our own is ignored). Empty: a cluster of one, until
    /// another node names this one as its seed.
    public var seeds: [GossipAddress]
    /// The cluster secret: authenticates gossip datagrams and the internal links' handshake.
    public var secret: String
    public var virtualNodes: Int
    public var gossip: SWIMSettings
    /// How rooms are replicated. 0: the successor replication of `RoomOwner` (one owner, one
    /// successor). 1 or more: each room is a majority-replicated group (`GroupRooms`) of this
    /// many roster members (all members when fewer); 3 survives the loss of any one of them.
    public var replicationFactor = 0
    /// Groups mode: room replicas this node holds at most. A room it would create beyond them is
    /// refused (`unavailable`, counted in `chat_rooms_refused_total`); replicas of rooms that
    /// exist are still taken, so that no group loses a voter to the limit.
    public var maxRooms = 100_000

    public init(
        nodeID: String, host: String, clientPort: Int, internalPort: Int, gossipPort: Int, seeds: [GossipAddress], secret: String,
        virtualNodes: Int, gossip: SWIMSettings = .init()
    ) {
        self.nodeID = nodeID
        self.addresses = NodeAddresses(host: host)
        self.clientPort = clientPort
        self.internalPort = internalPort
        self.gossipPort = gossipPort
        self.seeds = seeds
        self.secret = secret
        self.virtualNodes = virtualNodes
        self.gossip = gossip
    }
}
