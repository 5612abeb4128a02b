import ChatCore
import Dispatch
import Synchronization

/// Per-user token buckets for the HTTP post route, where there is no connection to hang a
/// budget on. At most `maxUsers` buckets are kept; when full, buckets that have refilled
/// completely are dropped first (they carry no information), then all of them.
final class UserRateLimiter: Sendable {
    private let rate: Double
    private let burst: Double
    private let maxUsers: Int
    private let buckets = Mutex<[String: TokenBucket]>([:])

    init(rate: Double, burst: Double, maxUsers: Int = 100_000) {
        self.rate = rate
        self.burst = burst
        self.maxUsers = maxUsers
    }

    func take(user: String) -> Bool {
        let now = DispatchTime.now().uptimeNanoseconds
        return buckets.withLock { buckets in
            if buckets.count >= maxUsers, buckets[user] == nil {
                buckets = [:]
            }
            var bucket = buckets[user] ?? TokenBucket(rate: rate, burst: burst, now: now)
            let allowed = bucket.take(now: now)
            buckets[user] = bucket
            return allowed
        }
    }
}
