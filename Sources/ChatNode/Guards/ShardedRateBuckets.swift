import ChatCore
import NIOConcurrencyHelpers

/// `RateBuckets` split over a few locks, so that the event loops rarely wait for each other.
final class ShardedRateBuckets: Sendable {
    private let shards: [NIOLockedValueBox<RateBuckets>]

    init(rate: Double, burst: Double, capacity: Int, shards: Int = 16) {
        self.shards = (0..<shards).map { _ in NIOLockedValueBox(RateBuckets(rate: rate, burst: burst, capacity: max(2, capacity / shards)))
        }
    }

    func take(_ key: String, now: UInt64) -> Bool {
        var hasher = Hasher()
        hasher.combine(key)
        let shard = shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(shards.count))]
        return shard.withLockedValue { $0.take(key, now: now) }
    }
}
