/// The node's open client connections, in total and per client address, and the rule that
/// admits a new one.
///
/// A connection from an address that is exempt (loopback by default: a load tool or a reverse
/// proxy on the same host) counts toward the total only. The per-address table holds only
/// addresses with open connections, so it is bounded by the total.
public struct ConnectionCounts: Sendable {
    /// What `admit` decided.
    public enum Admission: Sendable, Equatable {
        case admitted
        /// The node holds `maxTotal` connections.
        case nodeFull
        /// The address holds `maxPerAddress` connections.
        case addressFull
    }

    public let maxTotal: Int
    public let maxPerAddress: Int
    public private(set) var total = 0
    private var perAddress: [String: Int] = [:]

    public init(maxTotal: Int, maxPerAddress: Int) {
        self.maxTotal = maxTotal
        self.maxPerAddress = maxPerAddress
    }

    /// Open connections from `address`.
    public func count(from address: String) -> Int { perAddress[address] ?? 0 }

    /// Admits a connection from `address` (nil: exempt from the per-address limit) and counts it
    /// when admitted. Every admitted connection must be released exactly once.
    public mutating func admit(_ address: String?) -> Admission {
        guard total < maxTotal else { return .nodeFull }
        if let address {
            let open = perAddress[address] ?? 0
            guard open < maxPerAddress else { return .addressFull }
            perAddress[address] = open + 1
        }
        total += 1
        return .admitted
    }

    /// Forgets an admitted connection.
    public mutating func release(_ address: String?) {
        total = max(0, total - 1)
        guard let address, let open = perAddress[address] else { return }
        perAddress[address] = open > 1 ? open - 1 : nil
    }
}
