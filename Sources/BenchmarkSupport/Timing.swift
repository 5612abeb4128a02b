#if canImport(Glibc)
    import Glibc
#endif

/// A per-operation time: wall clock (`ContinuousClock`) and this thread's CPU time. On a busy
/// machine the wall clock also counts the time other processes held the CPU; the CPU time does
/// not, so on a shared machine the CPU figure is the one to compare.
public struct PerOp: Sendable {
    public var wallNs: Double
    public var cpuNs: Double

    public init(wallNs: Double, cpuNs: Double) {
        self.wallNs = wallNs
        self.cpuNs = cpuNs
    }
}

/// CPU time consumed by this thread so far, in nanoseconds (0 where unavailable).
public func threadCPUNanoseconds() -> Double {
    #if os(Linux)
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) * 1e9 + Double(ts.tv_nsec)
    #else
        return 0
    #endif
}

/// A `Duration` in nanoseconds.
public func nanoseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9
}

/// The median (the mean of the two middle values for an even count). `values` must not be empty.
public func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Times `body`, which runs `operations` operations and returns a checksum (sunk in `blackHole`):
/// one untimed warm-up run, then `repetitions` timed runs; wall and CPU ns per operation are each
/// the median over the timed runs.
public func timePerOp(operations: Int, repetitions: Int = 5, _ body: () -> Int) -> PerOp {
    blackHole(body())
    let clock = ContinuousClock()
    var wall: [Double] = []
    var cpu: [Double] = []
    for _ in 0..<max(1, repetitions) {
        var result = 0
        let cpuStart = threadCPUNanoseconds()
        let elapsed = clock.measure { result = body() }
        let cpuEnd = threadCPUNanoseconds()
        blackHole(result)
        wall.append(nanoseconds(elapsed) / Double(operations))
        cpu.append((cpuEnd - cpuStart) / Double(operations))
    }
    return PerOp(wallNs: median(wall), cpuNs: median(cpu))
}

/// Median of 5 runs of `body` (after a warm-up run), in milliseconds: wall clock and this
/// thread's CPU time.
public func milliseconds(_ body: () -> Int) -> PerOp {
    let t = timePerOp(operations: 1, body)
    return PerOp(wallNs: t.wallNs / 1e6, cpuNs: t.cpuNs / 1e6)
}
