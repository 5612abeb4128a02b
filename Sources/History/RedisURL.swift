/// A Redis address as configured: `redis://[:password@]host[:port][/db]`.
public struct RedisURL: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var password: String?
    public var database: Int

    public init(host: String, port: Int = 6379, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.password = password
        self.database = database
    }

    /// Parses a `redis://` URL; nil when it is not one.
    public init?(_ string: String) {
        guard string.hasPrefix("redis://") else { return nil }
        var rest = Substring(string.dropFirst("redis://".count))
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                password = String(credentials[credentials.index(after: colon)...])
            } else {
                password = String(credentials)
            }
            if password?.isEmpty == true { password = nil }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let db = rest[rest.index(after: slash)...]
            if !db.isEmpty {
                guard let number = Int(db), number >= 0 else { return nil }
                database = number
            }
            rest = rest[..<slash]
        }
        var host = String(rest)
        var port = 6379
        if let colon = rest.lastIndex(of: ":") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
                return nil
            }
            port = number
            host = String(rest[..<colon])
        }
        guard !host.isEmpty else { return nil }
        self.init(host: host, port: port, password: password, database: database)
    }

    /// The URL without its password, for logs.
    public var description: String { "redis://\(host):\(port)/\(database)" }
}
