/// What a replica keeps of the committed entries it compacted: enough to go on ordering the room
/// (the seq, the clock, the voters) and to keep retries idempotent (the recent ids), without the
/// messages themselves, which the history store holds.
///
/// A leader sends its snapshot to a replica whose next needed entry it no longer holds (Raft's
/// InstallSnapshot, in the same `append`), and a promiser sends its own with its log tail when a
/// candidate is further behind than its compaction point.
public struct Snapshot: Sendable, Hashable {
    /// A message of the idempotency window: a retry of `(user, id)` is answered with `seq`.
    public struct Recent: Sendable, Hashable {
        public var user: String
        public var id: String
        public var seq: UInt64

        public init(user: String, id: String, seq: UInt64) {
            self.user = user
            self.id = id
            self.seq = seq
        }
    }

    /// The last compacted index (every entry through it is committed) and its epoch.
    public var index: Int
    public var epoch: Epoch
    /// The latest configuration at or below `index`, and where it was.
    public var config: GroupConfig?
    public var configIndex: Int
    /// The seq of the last message at or below `index`, and the highest timestamp so far.
    public var lastSeq: UInt64
    public var lastTs: Int64
    /// The window's messages at or below `index`, in seq order.
    public var recent: [Recent]
    /// Presence at `index`.
    public var presence: PresenceTable

    public init(
        index: Int, epoch: Epoch, config: GroupConfig?, configIndex: Int, lastSeq: UInt64, lastTs: Int64, recent: [Recent],
        presence: PresenceTable = PresenceTable()
    ) {
        self.index = index
        self.epoch = epoch
        self.config = config
        self.configIndex = configIndex
        self.lastSeq = lastSeq
        self.lastTs = lastTs
        self.recent = recent
        self.presence = presence
    }

    /// The state before the first entry.
    public static let empty = Snapshot(
        index: 0, epoch: .zero, config: nil, configIndex: 0, lastSeq: 0, lastTs: 0, recent: [])
}
