/// A consistent-hash ring: which cluster member owns which key (room), as a pure value.
///
/// ## The circle
/// Positions are `UInt64` values on a circle of 2^64 points; clockwise means increasing, and
/// `UInt64.max` is followed by `0`. Every position is computed with ``HashRing/hash(_:)``
/// (xxHash64, seed 0, over the UTF-8 bytes), which is the same in every process, on every machine
/// and in every language, so two nodes that agree on the member list agree on every owner.
///
/// ## Virtual nodes
/// Each member `m` is placed `virtualNodes` times, virtual node `i` (for `i` in
/// `0 ..< virtualNodes`) at `hash("\(m)#\(i)")`, with `i` in plain decimal (`"node-1#0"`,
/// `"node-1#1"`, ...). The label is unambiguous even when a member name contains `#`, because
/// the index after the last `#` is all digits.
///
/// ## Ownership
/// A key sits at `hash(key)` and is owned by the first virtual node clockwise *at or after* that
/// point, wrapping from the largest virtual node back to the smallest. If two virtual nodes of
/// different members land on the same point (a 64-bit hash collision), the member that sorts
/// first (by UTF-8 bytes) holds the point; the other one's virtual node owns nothing.
///
/// ## Lookup
/// The virtual nodes are kept as a sorted array of points with a parallel array of member
/// indices. A lookup is a branch-free binary search over that array, narrowed first by a small
/// table indexed by the top bits of the hash (4 to 8 points per slot, so 2–3 search steps
/// instead of 15 for 25,600 points): no allocation, no hashing of member names.
///
/// ## Members
/// Member names are compared as UTF-8 bytes, not with `String ==` (which uses Unicode canonical
/// equivalence): two names are the same member only when their bytes are equal, because their
/// bytes are what gets hashed. ``members`` is sorted by UTF-8 bytes (which, for ASCII names, is
/// the usual `String` order) and without duplicates, so the order in which members are given
/// never matters: equal member sets give equal rings and equal owners.
///
/// ## Value semantics
/// A ring never changes; a membership change builds a new ring (50 members with the default
/// virtual nodes take about 4 ms of CPU, see `ring-bench`), and ``ownerChanges(of:to:)`` and
/// ``diff(to:)`` tell what moved. Two rings are equal (and hash equally) when they have the same
/// members and the same `virtualNodes`, which determines everything else.
public struct HashRing: Sendable, Hashable {
    /// Virtual nodes per member when none is given: 512.
    ///
    /// Chosen by measurement (`ring-bench`, 50 members, keys `"room-0"` ... `"room-99999"`). A
    /// member's share of the circle is the sum of its virtual nodes' arcs, so its relative spread is
    /// about 1/√virtualNodes, and the most loaded of 50 members sits about 2.3 spreads above the
    /// mean; on top of that come the ±2.2 % of sampling noise of 2,000 keys per member. Measured
    /// most-loaded/mean ratios (keys for `node-i` members; exact arc shares, mean and worst of 20
    /// random sets of 50 member names):
    ///
    /// | virtualNodes | keys | exact, mean of 20 | exact, worst of 20 | memory (50 members) |
    /// | --- | --- | --- | --- | --- |
    /// | 64   | 1.26 | 1.29 | 1.44 | 40 KB  |
    /// | 128  | 1.23 | 1.20 | 1.32 | 80 KB  |
    /// | 256  | 1.14 | 1.14 | 1.21 | 160 KB |
    /// | 512  | 1.11 | 1.09 | 1.12 | 320 KB |
    /// | 1024 | 1.11 | 1.07 | 1.10 | 640 KB |
    ///
    /// 512 is the smallest power of two that keeps the most loaded member within 1.15× the mean
    /// with margin whatever the member names (256 is at the limit on average and over it for some
    /// names). 1024 gains only about 0.02 while doubling memory and construction time (3.5 ms vs
    /// 7.3 ms of CPU for 50 members) and making lookups slower as the ring outgrows the CPU caches
    /// (owner(of:) about 50–70 ns at 512 and 86 ns at 1024, against 50 ns at 64).
    public static let defaultVirtualNodes: Int = 512

    /// The members, sorted by UTF-8 bytes and distinct (see the type's documentation).
    public let members: [String]

    /// How many virtual nodes each member has on the circle.
    public let virtualNodes: Int

    /// Positions of all virtual nodes, ascending (ties: lower member index first).
    let points: [UInt64]

    /// `owners[i]` is the index in `members` of the virtual node at `points[i]`.
    let owners: [UInt32]

    /// Lookup table: `slots[s]` is the index of the first point `>= UInt64(s) << slotShift`, and
    /// the last entry is `points.count`; a hash `h` has its answer in
    /// `slots[h >> slotShift] ... slots[(h >> slotShift) + 1]`.
    let slots: [UInt32]

    /// `64 - log2(slots.count - 1)`, between 48 and 63.
    let slotShift: UInt64

    /// Builds the ring of `members`, each with `virtualNodes` virtual nodes.
    ///
    /// Duplicate names (equal UTF-8 bytes) count once and the order of `members` does not matter.
    /// - Precondition: `virtualNodes >= 1`.
    public init<S: Sequence>(
        members: S,
        virtualNodes: Int = HashRing.defaultVirtualNodes
    ) where S.Element == String {
        precondition(virtualNodes >= 1, "HashRing: virtualNodes must be at least 1, got \(virtualNodes)")
        let members = Self.canonicalMembers(members)
        precondition(members.count < Int(UInt32.max), "HashRing: too many members")
        let (total, overflow) = members.count.multipliedReportingOverflow(by: virtualNodes)
        precondition(!overflow && total <= Int(UInt32.max), "HashRing: members.count * virtualNodes is too large")

        var entries: [Entry] = []
        entries.reserveCapacity(total)
        for (index, member) in members.enumerated() {
            // The label "\(member)#\(i)" is written in place: the member's bytes and "#" once, then
            // only the digits change (at most 19 of them for an Int).
            let prefix = Array(member.utf8)
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: prefix.count + 21) { label in
                _ = label.initialize(fromContentsOf: prefix)
                label[prefix.count] = UInt8(ascii: "#")
                let digitsStart = prefix.count + 1
                for virtualNode in 0..<virtualNodes {
                    let end = Self.writeDecimal(virtualNode, into: label, at: digitsStart)
                    let point = XXH64.hash(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: label[..<end])))
                    entries.append(Entry(point: point, member: UInt32(index)))
                }
            }
        }
        entries.sort()

        self.members = members
        self.virtualNodes = virtualNodes
        let points = entries.map(\.point)
        self.points = points
        self.owners = entries.map(\.member)
        (self.slots, self.slotShift) = Self.slotTable(points)
    }

    /// True when the ring has no members; then every owner is `nil`.
    public var isEmpty: Bool { members.isEmpty }

    /// The stable position of `key` on the circle: xxHash64 (seed 0) of its UTF-8 bytes.
    ///
    /// Equal to the reference XXH64 of the same bytes in any language (known-answer tests pin it).
    /// Does not allocate for native Swift strings.
    public static func hash(_ key: String) -> UInt64 {
        XXH64.hash(utf8: key)
    }

    /// The member that owns `key`: the one with the first virtual node clockwise at or after
    /// `hash(key)`. `nil` only when the ring is empty. Does not allocate.
    public func owner(of key: String) -> String? {
        owner(ofHash: XXH64.hash(utf8: key))
    }

    /// The member owning the position `hash` (see ``owner(of:)``). `nil` only for an empty ring.
    public func owner(ofHash hash: UInt64) -> String? {
        guard !points.isEmpty else { return nil }
        return members[Int(owners[index(atOrAfter: hash)])]
    }

    /// Up to `count` distinct members, in the order met walking clockwise from `key`'s position;
    /// the first one is ``owner(of:)``.
    ///
    /// Its length is `min(max(count, 0), members.count)`: a count of 0 (or less) or an empty ring
    /// gives `[]`. The second member is the one that would own `key` if the first one were
    /// removed, and so on: that is the hand-off order when members leave.
    public func preferenceList(of key: String, count: Int) -> [String] {
        preferenceList(ofHash: XXH64.hash(utf8: key), count: count)
    }

    /// ``preferenceList(of:count:)`` for a position already hashed.
    public func preferenceList(ofHash hash: UInt64, count: Int) -> [String] {
        let wanted = min(count, members.count)
        guard wanted > 0 else { return [] }
        var result: [String] = []
        result.reserveCapacity(wanted)
        // Members already taken: a bit per member index (inline for up to 64 members).
        var seenInline: UInt64 = 0
        var seenWords: [UInt64] = members.count > 64 ? Array(repeating: 0, count: (members.count + 63) / 64) : []
        var i = index(atOrAfter: hash)
        for _ in 0..<points.count {
            let member = Int(owners[i])
            let bit: UInt64 = 1 &<< UInt64(member & 63)
            let fresh: Bool
            if seenWords.isEmpty {
                fresh = seenInline & bit == 0
                seenInline |= bit
            } else {
                fresh = seenWords[member >> 6] & bit == 0
                seenWords[member >> 6] |= bit
            }
            if fresh {
                result.append(members[member])
                if result.count == wanted { break }
            }
            i = i + 1 == points.count ? 0 : i + 1
        }
        return result
    }

    /// The keys of `keys` whose owner in `newer` differs from their owner in `self`, in the order
    /// of `keys` (duplicates repeated). `from`/`to` are `nil` where a ring is empty.
    public func ownerChanges<S: Sequence>(of keys: S, to newer: HashRing) -> [RingChange]
    where S.Element == String {
        if self == newer { return [] }
        let translation = memberTranslation(to: newer)
        var changes: [RingChange] = []
        for key in keys {
            let h = XXH64.hash(utf8: key)
            let old = ownerIndex(ofHash: h)
            let new = newer.ownerIndex(ofHash: h)
            if Self.translate(old, translation) != new {
                changes.append(
                    RingChange(key: key, from: old.map { members[$0] }, to: new.map { newer.members[$0] }))
            }
        }
        return changes
    }

    /// The arcs of the circle whose owner in `newer` differs from their owner in `self`.
    ///
    /// Every position whose owner changes lies in exactly one returned arc, whose `from`/`to` are
    /// its old and new owners; every position outside all arcs keeps its owner. Arcs are maximal
    /// (two adjacent arcs never have the same `from` and `to`), pairwise disjoint, and sorted by
    /// ``RingArc/end``; at most one of them wraps past `UInt64.max` (`start >= end`, see
    /// ``RingArc``), and if so it is the first. Equal rings give `[]`; from or to an empty ring
    /// every arc has `from == nil` or `to == nil`, and a change that moves the whole circle (for
    /// example a ring of one member replaced by another single member) is one arc with
    /// `start == end`.
    public func diff(to newer: HashRing) -> [RingArc] {
        if self == newer { return [] }

        // Every virtual-node point of either ring, ascending and distinct. Between two consecutive
        // bounds (u[k-1], u[k]] both rings have a constant owner: the owner of u[k].
        var bounds: [UInt64] = []
        bounds.reserveCapacity(points.count + newer.points.count)
        do {
            var a = 0
            var b = 0
            while a < points.count || b < newer.points.count {
                let next: UInt64
                if b == newer.points.count || (a < points.count && points[a] <= newer.points[b]) {
                    next = points[a]
                } else {
                    next = newer.points[b]
                }
                while a < points.count && points[a] == next { a += 1 }
                while b < newer.points.count && newer.points[b] == next { b += 1 }
                bounds.append(next)
            }
        }
        let n = bounds.count
        guard n > 0 else { return [] }

        // Elementary arc k is (bounds[k-1], bounds[k]], arc 0 being the wrapping (bounds[n-1], bounds[0]].
        // Walk them in order, grouping consecutive arcs with the same (old, new) owners into runs.
        let translation = memberTranslation(to: newer)
        struct Run { var first: Int; var last: Int; var old: Int?; var new: Int? }
        var runs: [Run] = []
        var a = 0
        var b = 0
        for k in 0..<n {
            let u = bounds[k]
            while a < points.count && points[a] < u { a += 1 }
            while b < newer.points.count && newer.points[b] < u { b += 1 }
            let old: Int? = points.isEmpty ? nil : Int(owners[a == points.count ? 0 : a])
            let new: Int? = newer.points.isEmpty ? nil : Int(newer.owners[b == newer.points.count ? 0 : b])
            if let lastRun = runs.last, lastRun.old == old, lastRun.new == new {
                runs[runs.count - 1].last = k
            } else {
                runs.append(Run(first: k, last: k, old: old, new: new))
            }
        }
        // The last run and the first one meet at bounds[n-1]: join them when their owners agree.
        var wrapFirst: UInt64? = nil
        if runs.count > 1, let first = runs.first, let last = runs.last, first.old == last.old, first.new == last.new {
            wrapFirst = bounds[last.first == 0 ? n - 1 : last.first - 1]
            runs.removeLast()
        }

        var arcs: [RingArc] = []
        for (r, run) in runs.enumerated() where Self.translate(run.old, translation) != run.new {
            var start = bounds[run.first == 0 ? n - 1 : run.first - 1]
            if r == 0, let joined = wrapFirst { start = joined }
            arcs.append(
                RingArc(
                    start: start, end: bounds[run.last],
                    from: run.old.map { members[$0] }, to: run.new.map { newer.members[$0] }))
        }
        return arcs
    }

    /// Equal when both rings have the same `virtualNodes` and the same members, compared as UTF-8
    /// bytes; everything else (the points and owners) follows from those.
    public static func == (lhs: HashRing, rhs: HashRing) -> Bool {
        lhs.virtualNodes == rhs.virtualNodes
            && lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.utf8.elementsEqual($1.utf8) }
    }

    /// Hashes `virtualNodes` and `members` (consistent with `==`). This is Swift's per-process
    /// `Hasher`, for sets and dictionaries only; positions on the circle use ``hash(_:)``.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(virtualNodes)
        hasher.combine(members)
    }
}

// MARK: - Internals

extension HashRing {
    /// One virtual node while building: ordered by point, then member index (the tie-break).
    struct Entry: Comparable {
        var point: UInt64
        var member: UInt32

        static func < (lhs: Entry, rhs: Entry) -> Bool {
            lhs.point != rhs.point ? lhs.point < rhs.point : lhs.member < rhs.member
        }
    }

    /// The position of virtual node `index` of `member`: `hash("\(member)#\(index)")`.
    static func virtualNodePoint(member: String, index: Int) -> UInt64 {
        hash("\(member)#\(index)")
    }

    /// Index into `points` of the first virtual node at or after `hash`, wrapping to 0.
    /// - Precondition: `points` is not empty.
    @inline(__always)
    func index(atOrAfter hash: UInt64) -> Int {
        let slot = Int(truncatingIfNeeded: hash &>> slotShift)
        let (low, high) = slots.withUnsafeBufferPointer { (Int($0[slot]), Int($0[slot &+ 1])) }
        return points.withUnsafeBufferPointer { p in
            // Branch-free lower bound in p[low ..< high]: the answer always lies in [base, base + n].
            var base = low
            var n = high &- low
            while n > 1 {
                let half = n &>> 1
                base = p[base &+ half] < hash ? base &+ half : base
                n &-= half
            }
            if n == 1 && p[base] < hash { base &+= 1 }
            return base == p.count ? 0 : base
        }
    }

    /// The lookup table for sorted `points`: 2^k slots with k = floor(log2(count)) - 2, so about
    /// 4 to 8 points per slot, at least 2 and at most 65,536 slots.
    static func slotTable(_ points: [UInt64]) -> ([UInt32], UInt64) {
        let log2Count = points.isEmpty ? 0 : Int.bitWidth - 1 - points.count.leadingZeroBitCount
        let bits = min(16, max(1, log2Count - 2))
        let shift = UInt64(64 - bits)
        let slotCount = 1 << bits
        var slots = [UInt32](repeating: 0, count: slotCount + 1)
        var i = 0
        for s in 0..<slotCount {
            let slotStart = UInt64(s) << shift
            while i < points.count && points[i] < slotStart { i += 1 }
            slots[s] = UInt32(i)
        }
        slots[slotCount] = UInt32(points.count)
        return (slots, shift)
    }

    /// Index into `members` of the owner of `hash`, `nil` for an empty ring.
    @inline(__always)
    func ownerIndex(ofHash hash: UInt64) -> Int? {
        points.isEmpty ? nil : Int(owners[index(atOrAfter: hash)])
    }

    /// For each index into `self.members`, the index of the same member in `newer.members`
    /// (or -1 if `newer` does not have it). Both lists are sorted by UTF-8 bytes.
    func memberTranslation(to newer: HashRing) -> [Int] {
        var translation = Array(repeating: -1, count: members.count)
        var j = 0
        for (i, member) in members.enumerated() {
            while j < newer.members.count && newer.members[j].utf8.lexicographicallyPrecedes(member.utf8) {
                j += 1
            }
            if j < newer.members.count && newer.members[j].utf8.elementsEqual(member.utf8) {
                translation[i] = j
            }
        }
        return translation
    }

    /// `old` (an index into `self.members`) as an index into `newer.members`, -1 if gone.
    @inline(__always)
    static func translate(_ old: Int?, _ translation: [Int]) -> Int? {
        old.map { translation[$0] }
    }

    /// Sorted by UTF-8 bytes, duplicates (equal bytes) removed.
    static func canonicalMembers<S: Sequence>(_ members: S) -> [String] where S.Element == String {
        var list = Array(members)
        list.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var distinct: [String] = []
        distinct.reserveCapacity(list.count)
        for member in list where !(distinct.last.map { $0.utf8.elementsEqual(member.utf8) } ?? false) {
            distinct.append(member)
        }
        return distinct
    }

    /// Writes the decimal digits of `value` (>= 0) as ASCII at `buffer[start...]`; returns the end.
    static func writeDecimal(_ value: Int, into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        rest = value
        var i = start + digits
        repeat {
            i -= 1
            buffer[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        } while rest > 0
        return start + digits
    }
}
