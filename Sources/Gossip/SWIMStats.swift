/// Counters kept by the state machine; the shell exports them as metrics.
public struct SWIMStats: Sendable, Hashable {
    /// Protocol periods run (one probe and one gossip fan-out each).
    public var rounds: UInt64 = 0
    /// Members that became suspect in this node's view.
    public var suspicions: UInt64 = 0
    /// Members that became dead in this node's view.
    public var deaths: UInt64 = 0
    /// Times this node raised its incarnation to refute a suspicion or death of itself.
    public var refutations: UInt64 = 0
    /// Probes that got no ack, directly or indirectly.
    public var failedProbes: UInt64 = 0
    /// Times this node noticed that it had not been running (see `SWIMSettings.stallThreshold`).
    public var stalls: UInt64 = 0
    /// Full-state requests sent to members believed dead (see `SWIMSettings.deadMemberProbeInterval`).
    public var deadProbes: UInt64 = 0
}
