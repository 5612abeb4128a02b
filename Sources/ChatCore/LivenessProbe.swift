/// When a server pings a quiet client socket and when it gives up on it, as a value driven by the
/// caller's clock (nanoseconds).
///
/// A socket that has sent nothing for `interval` gets a ping; anything received (a pong or any
/// other frame) counts as an answer. A socket that answers nothing within `timeout` of the ping is
/// dead (a half-open TCP connection, a vanished host) and is closed: found within
/// `interval + timeout` of its last frame. Pings also keep proxies from cutting idle clients.
public struct LivenessProbe: Sendable {
    public enum Action: Sendable, Equatable {
        case none
        case ping
        case close
    }

    public let interval: UInt64
    public let timeout: UInt64
    private var lastHeard: UInt64
    private var pingSentAt: UInt64?

    public init(interval: UInt64, timeout: UInt64, now: UInt64) {
        self.interval = interval
        self.timeout = timeout
        self.lastHeard = now
    }

    /// Something arrived from the client.
    public mutating func heard(now: UInt64) {
        lastHeard = now
        pingSentAt = nil
    }

    /// What to do at `now`; a `.ping` is taken as sent.
    public mutating func check(now: UInt64) -> Action {
        if let pingSentAt {
            return now >= pingSentAt &+ timeout ? .close : .none
        }
        guard now >= lastHeard &+ interval else { return .none }
        pingSentAt = now
        return .ping
    }

    /// When `check` should run next.
    public var nextCheck: UInt64 {
        if let pingSentAt { return pingSentAt &+ timeout }
        return lastHeard &+ interval
    }
}
