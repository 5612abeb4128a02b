/// A token bucket for per-connection send rates, driven by the caller's clock so that tests
/// step time by hand.
///
/// The bucket holds at most `burst` tokens and refills at `rate` tokens per second; a send takes
/// one token, and a send that finds none is answered `rate_limited` without being sequenced.
public struct TokenBucket: Sendable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var lastRefill: UInt64

    /// - Parameter now: monotonic time in nanoseconds.
    public init(rate: Double, burst: Double, now: UInt64) {
        self.rate = rate
        self.burst = max(1, burst)
        self.tokens = max(1, burst)
        self.lastRefill = now
    }

    /// Takes one token if there is one.
    public mutating func take(now: UInt64) -> Bool {
        if now > lastRefill {
            tokens = min(burst, tokens + Double(now - lastRefill) / 1e9 * rate)
            lastRefill = now
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
