/// The seqs of one room that one receiver has seen, as a bitset over the seqs above the room's
/// seq at join time (`base`): a live message always has a seq above it.
struct SeqSet: Sendable, Hashable {
    /// The largest span of seqs above `base` tracked (64 Mi seqs, 8 MiB of bits).
    static let maximumSpan: UInt64 = 1 << 26

    let base: UInt64
    private var words: [UInt64] = []
    private(set) var count = 0

    init(base: UInt64) {
        self.base = base
    }

    enum Insertion: Equatable {
        case inserted
        case alreadyPresent
        /// At or below `base`, or too far above it to track.
        case outOfRange
    }

    mutating func insert(_ seq: UInt64) -> Insertion {
        guard seq > base, seq - base <= Self.maximumSpan else { return .outOfRange }
        let offset = Int(seq - base - 1)
        let word = offset >> 6
        let bit: UInt64 = 1 << UInt64(offset & 63)
        if word >= words.count { words.append(contentsOf: repeatElement(0, count: word - words.count + 1)) }
        if words[word] & bit != 0 { return .alreadyPresent }
        words[word] |= bit
        count += 1
        return .inserted
    }

    func contains(_ seq: UInt64) -> Bool {
        guard seq > base, seq - base <= Self.maximumSpan else { return false }
        let offset = Int(seq - base - 1)
        let word = offset >> 6
        return word < words.count && words[word] & (1 << UInt64(offset & 63)) != 0
    }
}
