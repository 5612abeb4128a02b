/// Where a node listens and what it tells the others, for each of its three listeners: the client
/// port (HTTP and WebSocket), the internal links (TCP) and gossip (UDP).
///
/// A node may bind a wildcard (`0.0.0.0`, `::`) or a private interface, but it must advertise an
/// address its peers can reach. Rules (`resolve`), per listener, first match wins:
/// - bind: the listener's own `bind`, else the node's `bind` (`--bind`), else `host`;
/// - advertise: the listener's own `advertise`, else the node's `advertise` (`--advertise`), else
///   `host`, else the bind address.
///
/// Refused, with a message that says what to set: advertising a wildcard (nobody can reach it),
/// and advertising a loopback address (`127.0.0.0/8`, `::1`, `localhost`) for the links or gossip
/// while some peer (a seed, or another node of the cluster file) is not on loopback: that peer
/// would connect to itself. The client address is only shown (`/cluster`); when it would be a
/// wildcard, or loopback in a cluster that is not, the links' advertised host is shown instead.
public struct NodeAddresses: Sendable, Hashable {
    public struct Listener: Sendable, Hashable {
        public var bind: String
        public var advertise: String

        public init(bind: String, advertise: String) {
            self.bind = bind
            self.advertise = advertise
        }
    }

    /// What the configuration says of one listener (nil: not set).
    public struct Setting: Sendable, Hashable {
        public var bind: String?
        public var advertise: String?

        public init(bind: String? = nil, advertise: String? = nil) {
            self.bind = bind
            self.advertise = advertise
        }
    }

    public var client: Listener
    public var links: Listener
    public var gossip: Listener

    /// Every listener binds and advertises `host` (a loopback or single-interface node).
    public init(host: String) {
        let same = Listener(bind: host, advertise: host)
        self.client = same
        self.links = same
        self.gossip = same
    }

    public init(client: Listener, links: Listener, gossip: Listener) {
        self.client = client
        self.links = links
        self.gossip = gossip
    }

    /// Applies the rules above; `peers` are the hosts of the seeds and of the other nodes of the
    /// cluster file.
    public static func resolve(
        nodeID: String, host: String?, bind: String?, advertise: String?, client: Setting = .init(), links: Setting = .init(),
        gossip: Setting = .init(), peers: [String]
    ) throws -> NodeAddresses {
        func listener(_ setting: Setting) -> Listener {
            let b = nonEmpty(setting.bind) ?? nonEmpty(bind) ?? nonEmpty(host) ?? "127.0.0.1"
            let a = nonEmpty(setting.advertise) ?? nonEmpty(advertise) ?? nonEmpty(host) ?? b
            return Listener(bind: b, advertise: a)
        }
        var result = NodeAddresses(client: listener(client), links: listener(links), gossip: listener(gossip))
        let remotePeer = peers.first { !isLoopback($0) && !isWildcard($0) }
        for (name, l) in [("internal", result.links), ("gossip", result.gossip)] {
            if isWildcard(l.advertise) {
                throw NodeAddressError(
                    "node \(nodeID) would advertise \(l.advertise) for its \(name) listener, which no peer can reach: "
                        + "set --advertise ADDRESS (or \"advertise\" in its cluster-file entry) to an address the other nodes reach it at")
            }
            if isLoopback(l.advertise), let remotePeer {
                throw NodeAddressError(
                    "node \(nodeID) would advertise the loopback address \(l.advertise) for its \(name) listener, "
                        + "but its peer \(remotePeer) is not on loopback and could not reach it: "
                        + "set --advertise ADDRESS (or \"advertise\"/\"host\" in its cluster-file entry) to an address \(remotePeer) can reach"
                )
            }
        }
        if isWildcard(result.client.advertise) || (isLoopback(result.client.advertise) && remotePeer != nil) {
            result.client.advertise = result.links.advertise
        }
        return result
    }

    /// `0.0.0.0`, `::`, `[::]`, or empty: every interface, not an address.
    public static func isWildcard(_ host: String) -> Bool {
        ["", "0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"].contains(host)
    }

    /// `127.0.0.0/8`, `::1` or `localhost`.
    public static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased()
        if h == "localhost" || h.hasSuffix(".localhost") || h == "::1" || h == "[::1]" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    private static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }
}

/// A node's addresses cannot work; the message says what to set.
public struct NodeAddressError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
