/// A WebSocket endpoint of a node (or of the broadcast server): `ws://host:port[/path]`.
///
/// Only plain `ws://` on an explicit or default (80) port is accepted: the benchmark runs on
/// loopback, and TLS would measure something else.
struct BenchEndpoint: Sendable, Hashable, CustomStringConvertible {
    var host: String
    var port: Int
    var path: String

    init(host: String, port: Int, path: String = "/ws") {
        self.host = host
        self.port = port
        self.path = path
    }

    /// Parses `ws://host:port[/path]`; the path defaults to `/ws`. Returns nil for anything else.
    init?(url: String) {
        guard url.hasPrefix("ws://") else { return nil }
        let rest = url.dropFirst("ws://".count)
        let authority: Substring
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = String(rest[slash...])
        } else {
            authority = rest
            path = "/ws"
        }
        if path == "/" { path = "/ws" }
        if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let port = Int(authority[authority.index(after: colon)...]), (1...65535).contains(port) else { return nil }
            self.port = port
        } else {
            host = String(authority)
            port = 80
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
    }

    var description: String { "ws://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)" }
}
