@testable import Ring

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator so every "random" test is
/// reproducible from the seed printed in its failure messages.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A short lowercase name, 3 to 12 characters.
    mutating func name(prefix: String = "") -> String {
        let length = Int(next() % 10) + 3
        var s = prefix
        for _ in 0..<length {
            s.unicodeScalars.append(Unicode.Scalar(UInt8(ascii: "a") + UInt8(next() % 26)))
        }
        return s
    }
}

/// Fixtures shared by the tests (computed once per process).
enum Fixture {
    static let keyCount = 100_000
    /// "room-0" ... "room-99999".
    static let rooms: [String] = (0..<keyCount).map { "room-\($0)" }
    /// `HashRing.hash` of each of `rooms`.
    static let roomHashes: [UInt64] = rooms.map(HashRing.hash)

    static func nodes(_ count: Int) -> [String] { (0..<count).map { "node-\($0)" } }

    /// How many of `hashes` each member of `ring` owns, indexed like `ring.members`.
    static func load(of ring: HashRing, hashes: [UInt64] = roomHashes) -> [Int] {
        var counts = Array(repeating: 0, count: ring.members.count)
        for h in hashes {
            counts[ring.ownerIndex(ofHash: h)!] += 1
        }
        return counts
    }
}
