/// The step search of `latency --find-max`: the highest total send rate at which a run passes
/// (correct, p99 end-to-end under the target, and the rate actually achieved).
///
/// Rates grow by `growth` from `start` until a step fails (or `maximum` is reached), then the
/// search bisects between the best passing and the lowest failing rate until they are within
/// `resolution` (a fraction of the passing rate) of each other, or `maxSteps` steps have run.
struct RateSearch: Sendable, Hashable {
    var start: Double
    var growth: Double
    var maximum: Double
    var resolution: Double
    var maxSteps: Int
    private(set) var best: Double?
    private(set) var lowestFailing: Double?
    private(set) var steps = 0
    private var last: Double?

    init(
        start: Double, growth: Double = 2, maximum: Double = 1_000_000, resolution: Double = 0.05, maxSteps: Int = 12
    )
        throws(BenchError)
    {
        guard start > 0, start.isFinite else { throw BenchError("--rate (the first step) must be positive") }
        guard growth > 1 else { throw BenchError("--growth must be above 1") }
        guard maximum >= start else { throw BenchError("--max-rate must be at least --rate") }
        guard resolution > 0 else { throw BenchError("--resolution must be positive") }
        guard maxSteps >= 1 else { throw BenchError("--max-steps must be at least 1") }
        self.start = start
        self.growth = growth
        self.maximum = maximum
        self.resolution = resolution
        self.maxSteps = maxSteps
    }

    /// Whether a step at `p99` milliseconds, having achieved `achieved` sends/s of `rate`, passes.
    static func passes(correct: Bool, p99: Double, target: Double, rate: Double, achieved: Double) -> Bool {
        correct && p99 < target && achieved >= 0.95 * rate
    }

    /// The rate of the next step, or nil when the search is over.
    var nextRate: Double? {
        guard steps < maxSteps else { return nil }
        guard let last else { return start }
        if let failing = lowestFailing {
            let low = best ?? 0
            if let best, failing - best <= resolution * best { return nil }
            if best == nil && failing <= start * resolution { return nil }
            return ((low + failing) / 2).rounded()
        }
        guard last < maximum else { return nil }
        return min(maximum, (last * growth).rounded())
    }

    mutating func record(rate: Double, passed: Bool) {
        steps += 1
        last = rate
        if passed {
            best = max(best ?? rate, rate)
        } else {
            lowestFailing = min(lowestFailing ?? rate, rate)
        }
    }
}
