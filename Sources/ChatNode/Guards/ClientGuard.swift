import ChatCore
import Dispatch
import Metrics
import NIOCore
import Synchronization

/// The node-wide limits on clients that span connections: how many connections the node and
/// each client address may hold, and the request rates of each user and each address (PROTOCOL.md
/// "Default limits"; README's limits table). Per-connection budgets live in the sessions.
///
/// Every refusal is counted in `chat_refusals_total{reason}`.
final class ClientGuard: Sendable {
    /// What a request costs: a send also spends the user's send budget.
    enum Request: Sendable {
        case send
        case read
    }

    /// Why a connection or a request was refused, as `chat_refusals_total`'s `reason`.
    enum Refusal: String, Sendable, CaseIterable {
        case nodeConnections = "node_connections"
        case addressConnections = "address_connections"
        case userSends = "user_sends"
        case userRequests = "user_requests"
        case addressRequests = "address_requests"
        case helloTimeout = "hello_timeout"
        case requestHeadTimeout = "request_head_timeout"
        case pingTimeout = "ping_timeout"
    }

    let limits: ChatLimits
    private let connections: Mutex<ConnectionCounts>
    private let userSends: ShardedRateBuckets
    private let userRequests: ShardedRateBuckets
    private let addressRequests: ShardedRateBuckets

    init(limits: ChatLimits, keys: Int = 100_000) {
        self.limits = limits
        self.connections = Mutex(ConnectionCounts(maxTotal: limits.maxConnections, maxPerAddress: limits.maxConnectionsPerAddress))
        self.userSends = ShardedRateBuckets(rate: limits.sendsPerSecond, burst: limits.sendBurst, capacity: keys)
        self.userRequests = ShardedRateBuckets(rate: limits.requestsPerSecond, burst: limits.requestBurst, capacity: keys)
        self.addressRequests = ShardedRateBuckets(
            rate: limits.addressRequestsPerSecond, burst: limits.addressRequestBurst, capacity: keys)
    }

    /// The key a client address is limited by: nil when the per-address limits do not apply to it.
    func addressKey(_ address: SocketAddress?) -> String? {
        guard let address, let ip = address.ipAddress else { return nil }
        if limits.exemptLoopback && Self.isLoopback(ip) { return nil }
        return ip
    }

    /// Admits a new connection or says why not. An admitted connection must be released once.
    func admit(_ key: String?) -> Refusal? {
        let admission = connections.withLock { $0.admit(key) }
        switch admission {
        case .admitted: return nil
        case .nodeFull: return counted(.nodeConnections)
        case .addressFull: return counted(.addressConnections)
        }
    }

    func release(_ key: String?) {
        connections.withLock { $0.release(key) }
    }

    /// Spends a request of `user` (if known) from address `key` (if limited), or says which budget
    /// is empty. Nothing is spent from the other budgets when one refuses.
    func allow(_ request: Request, user: String?, address key: String?) -> Refusal? {
        let now = DispatchTime.now().uptimeNanoseconds
        if let key, !addressRequests.take(key, now: now) { return counted(.addressRequests) }
        guard let user else { return nil }
        switch request {
        case .send:
            if !userSends.take(user, now: now) { return counted(.userSends) }
        case .read:
            if !userRequests.take(user, now: now) { return counted(.userRequests) }
        }
        return nil
    }

    /// Counts a refusal decided elsewhere (the deadlines).
    @discardableResult
    func counted(_ refusal: Refusal) -> Refusal {
        Counter(label: "chat_refusals_total", dimensions: [("reason", refusal.rawValue)]).increment()
        return refusal
    }

    static func isLoopback(_ ip: String) -> Bool {
        ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }

    static func registerMetrics() {
        for refusal in Refusal.allCases {
            Counter(label: "chat_refusals_total", dimensions: [("reason", refusal.rawValue)]).increment(by: 0)
        }
    }
}

extension ClientGuard.Refusal {
    /// The `message` of the `rate_limited` error a request refused for this reason gets.
    func message(retry: Bool) -> String {
        let what =
            switch self {
            case .userSends: "too many messages from this user"
            case .userRequests: "too many requests from this user"
            case .addressRequests: "too many requests from this address"
            default: "refused (\(rawValue))"
            }
        return retry ? what + "; retry later with the same id" : what + "; retry later"
    }
}
