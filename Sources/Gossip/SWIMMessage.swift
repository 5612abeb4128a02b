/// A point in time for the state machine: nanoseconds since an origin chosen by the caller (the
/// NIO shell uses the monotonic uptime clock, the simulation its virtual clock). The state
/// machine never reads a clock.
public struct SWIMInstant: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = SWIMInstant(nanoseconds: 0)

    public static func < (lhs: SWIMInstant, rhs: SWIMInstant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
    public static func + (lhs: SWIMInstant, rhs: Duration) -> SWIMInstant {
        SWIMInstant(nanoseconds: lhs.nanoseconds + rhs.nanoseconds)
    }
    public static func - (lhs: SWIMInstant, rhs: Duration) -> SWIMInstant {
        SWIMInstant(nanoseconds: lhs.nanoseconds - rhs.nanoseconds)
    }
    static func + (lhs: SWIMInstant, rhs: Int64) -> SWIMInstant { SWIMInstant(nanoseconds: lhs.nanoseconds + rhs) }
    public static func - (lhs: SWIMInstant, rhs: SWIMInstant) -> Duration {
        .nanoseconds(lhs.nanoseconds - rhs.nanoseconds)
    }

    public var description: String { "\(Double(nanoseconds) / 1e9)s" }
}

extension Duration {
    /// Whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return ns &+ attoseconds / 1_000_000_000
    }
}

/// xoshiro256** seeded through SplitMix64: small, fast, and reproducible from one 64-bit seed, so
/// a simulation replays exactly. Not for cryptography.
public struct SWIMRandom: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}

/// One piece of membership news: a member's record, and for a suspicion the member that
/// suspects it (so independent suspicions can be counted, Lifeguard).
public struct SWIMUpdate: Sendable, Hashable {
    public var member: GossipMember
    public var suspectedBy: String?

    public init(member: GossipMember, suspectedBy: String? = nil) {
        self.member = member
        self.suspectedBy = suspectedBy
    }
}

/// The body of a SWIM message.
public enum SWIMMessageKind: Sendable, Hashable {
    /// Probe. Only the member with id `target` answers (an address may have changed hands).
    case ping(sequence: UInt64, target: String)
    /// Ask the receiver to probe `target` at `targetAddress` for us and forward its ack.
    case pingRequest(sequence: UInt64, target: String, targetAddress: GossipAddress)
    /// `member` (at `incarnation`) answered the probe `sequence`; sent by it, or forwarded by a relay.
    case ack(sequence: UInt64, member: String, incarnation: UInt64)
    /// A relay did not hear from the target of indirect probe `sequence` in time (Lifeguard): it
    /// tells the prober that the relay itself is fine.
    case nack(sequence: UInt64)
    /// Full-state exchange (join and anti-entropy): the updates carry member records. The
    /// receiver answers with its own full state when `replyRequested`.
    case sync(replyRequested: Bool)
    /// Updates only (gossip fan-out, leave announcements, corrections).
    case gossip
}

/// A SWIM message: who sends it (id and current incarnation, so a receiver can tell a sender that
/// it is believed dead), what it is, and the piggybacked updates.
public struct SWIMMessage: Sendable, Hashable {
    public var senderID: String
    public var senderIncarnation: UInt64
    public var kind: SWIMMessageKind
    public var updates: [SWIMUpdate]

    public init(senderID: String, senderIncarnation: UInt64, kind: SWIMMessageKind, updates: [SWIMUpdate] = []) {
        self.senderID = senderID
        self.senderIncarnation = senderIncarnation
        self.kind = kind
        self.updates = updates
    }
}
