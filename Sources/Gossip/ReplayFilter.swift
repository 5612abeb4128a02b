/// Drops gossip datagrams that were captured and sent again (issue 11 §6): a datagram is taken
/// only if it was sealed within `windowMs` of the receiver's clock (either way) and its nonce
/// was not seen in that window. Nonces are remembered for the window and then forgotten (a replay
/// after it is stale); at most `capacity` are kept, and when that many arrive within one window
/// the oldest are forgotten early, which can only let through a replay of news at most a window
/// old, which SWIM's incarnation numbers make harmless anyway.
///
/// Rule a reader could not guess: nodes' wall clocks must agree within the window (30 s by
/// default); a node whose clock is further off hears no gossip, and says so in its lonely log.
public struct ReplayFilter: Sendable {
    public enum Verdict: Sendable, Equatable {
        case fresh
        /// Sealed outside the window of the receiver's clock.
        case stale
        /// Its nonce was seen within the window.
        case replayed
    }

    public let windowMs: Int64
    public let capacity: Int
    private var seen: Set<[UInt8]> = []
    private var order: [(nonce: [UInt8], at: Int64)] = []
    private var head = 0

    public init(windowMs: Int64 = 30_000, capacity: Int = 200_000) {
        self.windowMs = windowMs
        self.capacity = capacity
    }

    public mutating func check(nonce: [UInt8], sentAtMs: Int64, nowMs: Int64) -> Verdict {
        guard abs(nowMs &- sentAtMs) <= windowMs else { return .stale }
        forget(before: nowMs &- 2 * windowMs)
        guard !seen.contains(nonce) else { return .replayed }
        if seen.count >= capacity, head < order.count {
            seen.remove(order[head].nonce)
            head += 1
        }
        seen.insert(nonce)
        order.append((nonce, nowMs))
        return .fresh
    }

    /// Forgets nonces received before `cutoff` (a datagram sealed then is stale now).
    private mutating func forget(before cutoff: Int64) {
        while head < order.count, order[head].at < cutoff {
            seen.remove(order[head].nonce)
            head += 1
        }
        if head > 1024, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
