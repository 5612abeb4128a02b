/// SplitMix64: the simulator's only source of randomness, so a run replays from its seed.
public struct SimRandom: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }

    /// A uniform time in `low...high` (ns).
    public mutating func between(_ low: UInt64, _ high: UInt64) -> UInt64 { UInt64.random(in: low...max(low, high), using: &self) }
}

/// A binary min-heap of timed events, ordered by (time, insertion order) so ties replay exactly.
struct EventHeap<Element> {
    private var items: [(time: UInt64, order: UInt64, element: Element)] = []
    private var counter: UInt64 = 0

    var isEmpty: Bool { items.isEmpty }
    var nextTime: UInt64? { items.first?.time }

    mutating func push(_ element: Element, at time: UInt64) {
        counter += 1
        items.append((time, counter, element))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (time: UInt64, element: Element)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, less(left, smallest) { smallest = left }
            if right < items.count, less(right, smallest) { smallest = right }
            guard smallest != parent else { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return (top.time, top.element)
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        items[a].time != items[b].time ? items[a].time < items[b].time : items[a].order < items[b].order
    }
}

/// A stable string hash (FNV-1a), for placement in the simulator (never Swift's seeded `Hasher`).
func stableHash(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    return hash
}
