import ChatCore
import Foundation
import Testing

@Suite("Limits that span connections: rate buckets, connection counts, liveness probe")
struct ClientLimitsTests {
    @Test func rateBucketsKeepAKeyThatIsInUse() {
        var buckets = RateBuckets(rate: 1, burst: 2, capacity: 8)
        #expect([0, 1, 2].map { _ in buckets.take("hot", now: 0) } == [true, true, false])
        // 1,000 strangers come and go; the hot key is used now and then and stays drained:
        // nobody's bucket is wiped because the table is full.
        for i in 0..<1000 {
            _ = buckets.take("stranger-\(i)", now: 0)
            #expect(buckets.count <= 8)
            if i % 3 == 0 {
                let allowed = buckets.take("hot", now: 0)
                #expect(!allowed, "stranger \(i) reset the hot key's bucket")
            }
        }
        // A key unused for more than a generation is dropped and comes back full.
        let back = buckets.take("stranger-0", now: 0)
        #expect(back)
    }

    @Test func rateBucketsRefillByTheClock() {
        var buckets = RateBuckets(rate: 10, burst: 1, capacity: 4)
        let taken = [0, 50_000_000, 100_000_000].map { buckets.take("a", now: UInt64($0)) }
        #expect(taken == [true, false, true])
    }

    @Test func connectionCountsPerAddressAndTotal() {
        var counts = ConnectionCounts(maxTotal: 4, maxPerAddress: 2)
        #expect(counts.admit("10.0.0.1") == .admitted)
        #expect(counts.admit("10.0.0.1") == .admitted)
        #expect(counts.admit("10.0.0.1") == .addressFull)
        #expect(counts.admit("10.0.0.2") == .admitted)
        #expect(counts.admit(nil) == .admitted)  // exempt from the per-address limit only
        #expect(counts.admit(nil) == .nodeFull)
        #expect(counts.total == 4)
        counts.release("10.0.0.1")
        #expect(counts.count(from: "10.0.0.1") == 1)
        #expect(counts.admit("10.0.0.1") == .admitted)
        for address in ["10.0.0.1", "10.0.0.1", "10.0.0.2", nil] { counts.release(address) }
        #expect(counts.total == 0)
        #expect(counts.count(from: "10.0.0.1") == 0)
    }

    @Test func livenessProbePingsAQuietSocketThenGivesUp() {
        let second: UInt64 = 1_000_000_000
        var probe = LivenessProbe(interval: 20 * second, timeout: 10 * second, now: 0)
        #expect(probe.nextCheck == 20 * second)
        #expect(probe.check(now: 19 * second) == .none)
        probe.heard(now: 15 * second)  // a frame: the quiet period starts again
        #expect(probe.check(now: 20 * second) == .none)
        #expect(probe.nextCheck == 35 * second)
        #expect(probe.check(now: 35 * second) == .ping)
        #expect(probe.check(now: 36 * second) == .none)  // one ping at a time
        #expect(probe.nextCheck == 45 * second)
        #expect(probe.check(now: 45 * second) == .close)
    }

    @Test func livenessProbeAnAnsweredPingStartsOver() {
        let second: UInt64 = 1_000_000_000
        var probe = LivenessProbe(interval: 20 * second, timeout: 10 * second, now: 0)
        #expect(probe.check(now: 20 * second) == .ping)
        probe.heard(now: 21 * second)  // the pong
        #expect(probe.check(now: 31 * second) == .none)
        #expect(probe.check(now: 41 * second) == .ping)
    }

    @Test func limitsDecodeWithDefaultsAndSayWhatIsWrong() throws {
        let limits = try JSONDecoder().decode(ChatLimits.self, from: Data(#"{"helloTimeoutSeconds": 2.5}"#.utf8))
        #expect(limits.helloTimeoutSeconds == 2.5)
        #expect(limits.maxConnectionsPerAddress == ChatLimits().maxConnectionsPerAddress)
        #expect(limits.problem == nil)
        var bad = ChatLimits()
        bad.pingTimeoutSeconds = 0
        #expect(bad.problem == "limits.pingTimeoutSeconds must be a positive number")
        bad = ChatLimits()
        bad.maxFrameBytes = 10
        #expect(bad.problem == "limits.maxFrameBytes must be at least 1024")
    }
}
