/// The UDP address a member gossips on.
public struct GossipAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `"host:port"`; an IPv6 host is written in brackets: `"[::1]:7946"`.
    public init?(_ string: String) {
        let text = string.trimmingCharacters(in: " \t\n")
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), !host.isEmpty else { return nil }
            self.init(host: host, port: port)
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            let host = String(text[..<colon])
            guard !host.isEmpty, !host.contains(":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
            self.init(host: host, port: port)
        }
        guard (0...65535).contains(port) else { return nil }
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return slice
    }
}

/// A member's status as one node sees it.
///
/// Order of precedence at equal incarnation: `alive < suspect < dead < left`. A higher incarnation
/// always wins, so a member that was declared dead (or left) and is in fact running comes back
/// `alive` by announcing a higher incarnation.
public enum MemberStatus: String, Sendable, Hashable {
    case alive, suspect, dead, left

    /// Precedence at equal incarnation.
    var rank: Int {
        switch self {
        case .alive: 0
        case .suspect: 1
        case .dead: 2
        case .left: 3
        }
    }

    /// Alive or suspect: still a member of the cluster (a suspect is probed and may refute).
    public var isActive: Bool { self == .alive || self == .suspect }
}

public struct GossipMember: Sendable, Hashable {
    /// Node id, unique in the cluster.
    public var id: String
    /// Its gossip (UDP) address.
    public var address: GossipAddress
    /// Opaque; the node puts "host", "clientPort", "internalPort" here. Keep it small: a member's
    /// whole record must fit in one datagram (see `SWIMCodec.maxRecordSize`).
    public var metadata: [String: String]
    public var status: MemberStatus
    /// Raised only by the member itself (to refute a suspicion, or to come back after being
    /// declared dead); a higher incarnation supersedes anything said about a lower one.
    public var incarnation: UInt64

    public init(
        id: String, address: GossipAddress, metadata: [String: String] = [:], status: MemberStatus = .alive,
        incarnation: UInt64 = 0
    ) {
        self.id = id
        self.address = address
        self.metadata = metadata
        self.status = status
        self.incarnation = incarnation
    }
}

public enum GossipEvent: Sendable, Hashable {
    /// Emitted on every status, incarnation or metadata change of a member, including the first
    /// time it is seen (and for the local node itself when it starts and whenever it refutes).
    case memberChanged(GossipMember)
    /// An operator removed this node while it seemed dead (`SWIMInstance.removedByOperator`):
    /// it is no longer a member and must stop; a restarted process joins afresh.
    case removedByOperator
}
