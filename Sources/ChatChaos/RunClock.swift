/// Seconds since the run started, on the monotonic clock: every observation is stamped with it.
struct RunClock: Sendable {
    let start = ContinuousClock.now

    func now() -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
