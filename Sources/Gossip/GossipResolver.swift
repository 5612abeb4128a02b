import NIOCore

/// Where gossip datagrams go: socket addresses for the members' and seeds' `host:port`.
///
/// An IP literal is parsed once. A DNS name is resolved off the event loop (the shell does it
/// and calls `store`), and again every `refreshInterval` while it is in use, so a host whose name
/// now points elsewhere (a replaced machine, a rescheduled pod) is found at its new address
/// without a restart. Until a name has resolved once, datagrams to it are dropped (as the network
/// might); afterwards the last good address is used while a refresh runs or fails.
struct GossipResolver: Sendable {
    /// How long a resolved name is used before it is resolved again. 5 s: about the time a
    /// StatefulSet's DNS record takes to follow a restarted pod, and one lookup per name per
    /// 5 s is nothing.
    static let refreshInterval: Int64 = 5_000_000_000

    enum Lookup: Equatable {
        /// Send here; `refresh` asks the shell to resolve the name again in the background.
        case resolved(SocketAddress, refresh: Bool)
        /// Not resolved yet; `request` asks the shell to resolve it (false: already asked).
        case pending(request: Bool)
    }

    private struct Entry {
        var address: SocketAddress?
        var resolvedAt: Int64
        var inFlight: Bool
    }

    private var literals: [GossipAddress: SocketAddress] = [:]
    private var names: [GossipAddress: Entry] = [:]

    mutating func address(of target: GossipAddress, now: SWIMInstant) -> Lookup {
        if let literal = literals[target] { return .resolved(literal, refresh: false) }
        if let ip = try? SocketAddress(ipAddress: target.host, port: target.port) {
            if literals.count > 4096 { literals = [:] }
            literals[target] = ip
            return .resolved(ip, refresh: false)
        }
        var entry = names[target] ?? Entry(address: nil, resolvedAt: .min, inFlight: false)
        let stale = entry.resolvedAt == .min || now.nanoseconds - entry.resolvedAt >= Self.refreshInterval
        let request = stale && !entry.inFlight
        if request { entry.inFlight = true }
        if names.count > 4096 && names[target] == nil { names = [:] }
        names[target] = entry
        if let address = entry.address { return .resolved(address, refresh: request) }
        return .pending(request: request)
    }

    /// The member at `target` stopped answering: if `target` is a name, resolve it again at the
    /// next use (the host may have come back at another address) rather than after the interval.
    mutating func invalidate(_ target: GossipAddress) {
        guard var entry = names[target], !entry.inFlight else { return }
        entry.resolvedAt = .min
        names[target] = entry
    }

    /// The answer of a background lookup (nil: it failed; the last good address stays in use and
    /// the name is tried again at the next use after `refreshInterval`).
    mutating func store(_ address: SocketAddress?, for target: GossipAddress, now: SWIMInstant) {
        var entry = names[target] ?? Entry(address: nil, resolvedAt: .min, inFlight: false)
        entry.inFlight = false
        entry.resolvedAt = now.nanoseconds
        if let address { entry.address = address }
        names[target] = entry
    }
}
