/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, seedable generator with a fixed output for a
/// given seed on every platform and Swift version — unlike `SystemRandomNumberGenerator` or the
/// standard library's algorithms on top of it, whose exact draws are not promised. The fault
/// schedule uses only this generator and the integer helpers below, so one seed always replays
/// the same schedule.
struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound` (Lemire's multiply-shift; the tiny bias is irrelevant here
    /// and, unlike `Int.random(in:using:)`, the mapping is fixed by this code).
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        let product = next().multipliedFullWidth(by: UInt64(bound))
        return Int(product.high)
    }

    /// A uniform value in `range`, with 1/1,000,000 resolution.
    mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        let unit = Double(below(1_000_001)) / 1_000_000
        return range.lowerBound + (range.upperBound - range.lowerBound) * unit
    }
}
