/// Timeouts and sizes of a room group. All times are nanoseconds of the injected clock.
public struct GroupSettings: Sendable, Hashable {
    /// An append without a reply is sent again after this long (to a replica gossip says is alive).
    public var retransmitInterval: UInt64 = 100_000_000
    /// A send not committed within this long is answered `unavailable` (it may still commit; a
    /// retry with the same id then returns its seq).
    public var requestTimeout: UInt64 = 1_000_000_000
    /// A leaderless voter waits `rank × campaignStagger` before it campaigns, where `rank` is its
    /// place among the live voters in ring order: the first live member leads, without a storm.
    public var campaignStagger: UInt64 = 150_000_000
    /// A candidate without a majority of promises after this long gives up and tries again later.
    public var campaignTimeout: UInt64 = 300_000_000
    /// A promised candidate that has not sent an append within this long is treated as failed.
    public var candidateGrace: UInt64 = 800_000_000
    /// A follower that heard from its leader this recently refuses other candidates' prepares
    /// (while gossip says that leader is alive); after it, a candidate with a majority view wins.
    public var stickiness: UInt64 = 500_000_000
    /// Most entries in one append.
    public var maxBatch = 256
    /// Most appends in flight to one replica (pipelining); what comes while that many are
    /// waiting goes in the next one.
    public var maxInflight = 4
    /// Committed entries a replica keeps in its log; past twice this many, the older ones are
    /// replaced by a snapshot (`RoomGroup.compactIfNeeded`). A replica further behind than the
    /// leader's snapshot receives the snapshot instead of the entries.
    public var retainedEntries = 1024
    /// Recent messages whose `(user, id)` are remembered for idempotent retries.
    public var idempotencyWindow: UInt64 = 4096
    /// A leader that is not the first live voter in ring order hands leadership to that voter
    /// (`RoomGroup.yieldToPreferred`) at most once per this long: a preferred voter that cannot
    /// win (cut off from the others) then costs the room one short election per interval, not a
    /// flapping leader.
    public var yieldInterval: UInt64 = 5_000_000_000
    /// A new leader writes the messages committed within this long (by their `ts`) to the history
    /// store again: its predecessor's writes of them may have died with it. Writes are queued
    /// and land within milliseconds while the store is up, so a few seconds cover them.
    public var repersistWindow: UInt64 = 10_000_000_000
    /// Milliseconds to add to the clock (÷ 10⁶) to get a message's wall-clock `ts`: the shell
    /// runs the group on a monotonic clock and sets this to the wall clock's lead over it.
    public var wallClockOffset: Int64 = 0

    public init() {}
}
