import Histogram

/// Percentiles of one latency distribution, in milliseconds.
struct LatencySummary: Sendable, Hashable, Codable {
    var count: UInt64
    var p50: Double
    var p99: Double
    var p999: Double
    var max: Double

    static let empty = LatencySummary(count: 0, p50: 0, p99: 0, p999: 0, max: 0)

    /// A histogram of latencies in microseconds, from 1 µs to 10 minutes at 3 significant digits.
    static func makeHistogram() -> Histogram<UInt64> {
        Histogram(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    }

    /// Records a latency given in nanoseconds (values above the histogram's range are clamped).
    static func record(nanoseconds: UInt64, into histogram: inout Histogram<UInt64>) {
        let micros = Swift.max(1, Swift.min(nanoseconds / 1000, histogram.highestTrackableValue))
        histogram.record(micros)
    }

    init(count: UInt64, p50: Double, p99: Double, p999: Double, max: Double) {
        self.count = count
        self.p50 = p50
        self.p99 = p99
        self.p999 = p999
        self.max = max
    }

    init(_ histogram: Histogram<UInt64>) {
        guard histogram.totalCount > 0 else {
            self = .empty
            return
        }
        count = histogram.totalCount
        p50 = Double(histogram.valueAtPercentile(50)) / 1000
        p99 = Double(histogram.valueAtPercentile(99)) / 1000
        p999 = Double(histogram.valueAtPercentile(99.9)) / 1000
        max = Double(histogram.max) / 1000
    }
}
