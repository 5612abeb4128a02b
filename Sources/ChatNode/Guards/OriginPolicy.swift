import Cluster
import Foundation

/// Which web origins may open the chat socket or post (issue 11 §5): a page on another site must
/// not be able to act as a visitor who happens to reach the node.
///
/// A request is accepted when it carries no `Origin` (bots, load tools, curl: browsers always send
/// one on WebSocket upgrades and cross-origin posts), when its origin is the node itself (the
/// origin's host and port are the request's `Host`), or when it is allowed: by default any
/// loopback origin (local development); with `allowedOrigins` set, exactly the origins listed
/// (`"*"` allows every origin). The opaque origin `null` (sandboxed frames, `file:` pages) is
/// allowed only through `"*"`.
struct OriginPolicy: Sendable {
    /// nil: the default (loopback origins).
    let allowed: Set<String>?

    init(allowedOrigins: [String]?) {
        allowed = allowedOrigins.map { Set($0.map(Self.normalized)) }
    }

    func allows(origin: String?, host: String?) -> Bool {
        guard let origin, !origin.isEmpty else { return true }
        if let allowed, allowed.contains("*") { return true }
        guard let url = URL(string: origin), let scheme = url.scheme, ["http", "https"].contains(scheme.lowercased()),
            let originHost = url.host
        else { return false }
        let port = url.port ?? (scheme.lowercased() == "https" ? 443 : 80)
        if let host, Self.sameAuthority(host: originHost, port: port, as: host) { return true }
        guard let allowed else { return NodeAddresses.isLoopback(originHost) }
        return allowed.contains(Self.normalized(origin))
    }

    /// `host[:port]` of a Host header against an origin's host and port. A Host without a port
    /// matches either default port (a TLS-terminating proxy forwards `https://name` as `name`).
    static func sameAuthority(host originHost: String, port: Int, as header: String) -> Bool {
        guard let url = URL(string: "http://\(header)"), let host = url.host, host.lowercased() == originHost.lowercased() else {
            return false
        }
        if let headerPort = url.port { return headerPort == port }
        return port == 80 || port == 443
    }

    /// Origins compare without a trailing slash and in lower case.
    static func normalized(_ origin: String) -> String {
        var o = origin.lowercased()
        while o.hasSuffix("/") { o.removeLast() }
        return o
    }
}
