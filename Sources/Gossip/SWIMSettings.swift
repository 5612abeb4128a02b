/// Tuning of the SWIM protocol. The defaults target a LAN or loopback cluster of 3 to 100 nodes:
/// a crashed node known dead by every live node within 1.5 s at the median and 3 s at p99, any
/// membership change known everywhere within 1.5 s at p99, no live node declared dead at 10 %
/// packet loss, a node stopped for 2 s back without harm. `gossip-sim` measures these figures with
/// exactly these defaults (on a simulated LAN, many seeds).
public struct SWIMSettings: Sendable, Hashable {
    /// Time between two probes of this node (one member is pinged per period), and between two
    /// rounds of gossip fan-out. 200 ms: on a LAN or loopback a round trip takes well under 1 ms,
    /// so the period is dominated by how fast we want to notice a crash; five probes a second per
    /// node is negligible load (a few small datagrams), and every bound below is a small multiple
    /// of it. Scaled by the local health multiplier (Lifeguard) when this node is unhealthy.
    public var protocolPeriod: Duration = .milliseconds(200)

    /// How long to wait for the direct ack before asking `indirectProbes` other members to probe
    /// on our behalf (and pinging the target once more). 80 ms is two orders of magnitude above a
    /// LAN round trip, leaves the indirect probe 120 ms of the period (four hops), and is long
    /// enough to ride over an event loop that is briefly busy. Scaled by the local health
    /// multiplier.
    public var probeTimeout: Duration = .milliseconds(80)

    /// k, members asked to probe indirectly when the direct probe times out. 3 (as in the SWIM
    /// paper and memberlist): at 10 % loss, an indirect path (4 datagrams) fails 34 % of the time;
    /// three independent paths plus a second direct ping leave about 1 false failure in 650
    /// probes (measured), each cleared by a refutation long before the suspicion times out.
    public var indirectProbes: Int = 3

    /// Members a node sends its pending updates to every period, besides its probe. 3 (as
    /// memberlist): with the piggyback on pings and acks an update reaches about 5 new nodes per
    /// period, so 50 to 100 nodes know a change in 2 periods (p99 about 3), well within the
    /// 1.5 s aim; only nodes with news to spread send these, so a quiet cluster sends 2 datagrams
    /// per node per period (ping, ack) whatever its size.
    public var gossipFanout: Int = 3

    /// λ, the retransmit multiplier: each update is piggybacked by each node at most
    /// `ceil(λ · ln(n + 1))` times (the SWIM paper's λ·log n). 3 gives 12 sends per node for 50
    /// members, 14 for 100, enough for every change to reach every member in `gossip-sim` at
    /// 10 % loss; a node that misses one anyway still converges through the joining member's own
    /// pings, its own probes of a dead member, corrections, or anti-entropy.
    public var retransmitMultiplier: Double = 3

    /// α: the shortest suspicion timeout is `α · max(1, log10 n) · protocolPeriod` (n = live
    /// members), reached once `expectedConfirmations` other members have independently suspected
    /// the same member. 2 gives 400 ms up to 10 members, 680 ms for 50, 800 ms for 100 (log n,
    /// like the time gossip takes to spread). A crash is then known by every member about 1.3 s
    /// after it happens (time to the first probe, one period of probing, this timeout; the members
    /// time out together because they all confirmed): under the 1.5 s median aim with a margin,
    /// while a refutation, which takes one or two periods through the buddy piggyback, still
    /// arrives before it in the rare case that loss produces three confirmations.
    public var suspicionMinMultiplier: Double = 2

    /// β: the longest suspicion timeout (no confirmation) is `β` times the shortest. 6 gives
    /// 2.4 s up to 10 members, 4.1 s for 50, 4.8 s for 100: a lone suspicion, which is what packet
    /// loss produces, has 12 to 24 periods to be refuted (it takes 1 or 2), and a crash that
    /// nobody confirms is still declared within 5 s. With these values,
    /// `gossip-sim` sees no live member declared dead in 30 simulated minutes at 10 % loss.
    public var suspicionMaxMultiplier: Double = 6

    /// K, independent suspicions that bring the suspicion timeout down from its maximum to its
    /// minimum, on a logarithmic curve (Lifeguard). 3 (capped at n − 2 in small clusters): members
    /// that hear a suspicion probe the suspect first, so a crashed member gathers K confirmations
    /// within two periods, while a live one behind 10 % loss almost never fails three probes.
    public var expectedConfirmations: Int = 3

    /// Upper bound of the local health multiplier (Lifeguard): probe interval and probe timeout
    /// are multiplied by `1 + lhm`. It rises when this node misses acks and nacks or has to refute
    /// a suspicion of itself, and falls with every successful probe. 8, as in Lifeguard: a
    /// starved node slows down to one probe every 1.8 s with 720 ms of patience instead of
    /// accusing healthy members.
    public var maxLocalHealthMultiplier: Int = 8

    /// A gap between two events this much longer than the scheduled wake-up means this node was
    /// not running (SIGSTOP, a stalled event loop, a suspended VM). Timeouts that elapsed while we
    /// were not running say nothing about the others: the running probe is abandoned without a
    /// verdict, suspicion timers are extended by the gap, and the local health multiplier goes to
    /// its maximum. 500 ms: well above scheduling jitter, well below any suspicion timeout.
    public var stallThreshold: Duration = .milliseconds(500)

    /// Largest datagram sent, HMAC tag included. 1,400 bytes fits a 1,500-byte Ethernet MTU with
    /// room for IP/UDP headers and tunnels, so datagrams are never fragmented. Piggybacked updates
    /// and full-state chunks are cut to fit.
    public var maxDatagramSize: Int = 1400

    /// First retry delay when no seed has answered; it doubles up to `joinRetryMaxInterval`.
    /// 250 ms: a lost join datagram costs little, and seeds that start a moment later are found
    /// quickly.
    public var joinRetryInitialInterval: Duration = .milliseconds(250)

    /// Longest delay between two join attempts. 5 s: a node started long before its seeds finds
    /// them within seconds, at the cost of a handful of datagrams. Once joined, a node also asks
    /// each seed that is not an alive member for its state at this interval (one small datagram),
    /// so that a partition heals through the seeds, and a seed restarted alone finds the cluster.
    public var joinRetryMaxInterval: Duration = .seconds(5)

    /// Anti-entropy: every `syncInterval · c` (c = datagrams one full state takes), a node
    /// exchanges its full state with one random member, which repairs anything gossip missed.
    /// 30 s; scaling by c keeps the cost per node per period independent of the cluster size.
    public var syncInterval: Duration = .seconds(30)

    /// How long left members are remembered (with status .left) before they are forgotten (dead
    /// members are kept for `reconnectTimeout`): late or duplicated gossip about them is recognised as stale during that time, and
    /// the members' views include them so a consumer sees the transition. 60 s is far longer
    /// than gossip about one change lives (a few periods) and twice the anti-entropy interval.
    public var deadMemberRetention: Duration = .seconds(60)

    /// How often a dead member is asked, once, for a full-state exchange (memberlist and Serf's
    /// "reconnect"). Every `deadMemberProbeInterval` one dead member, in turn, gets one small
    /// datagram. 1 s: both sides of a healed partition of any length find each other again within
    /// a second or two per dead member, without depending on the seeds being among the members
    /// that came back; a cluster with dead members pays one datagram per node per second.
    public var deadMemberProbeInterval: Duration = .seconds(1)

    /// How long a member declared dead (not one that left) is remembered and re-probed before it
    /// is forgotten. 24 h, as Serf's `reconnect_timeout`: a partition or an outage shorter than
    /// that heals by itself. Members that left gracefully are forgotten after
    /// `deadMemberRetention`.
    public var reconnectTimeout: Duration = .seconds(24 * 3600)

    /// How long a leaving node keeps gossiping its `.left` status before it stops: 5 periods
    /// (1 s). With the fan-out of 3 plus everyone's relaying that reaches every member of a
    /// 100-node cluster, and it bounds shutdown time.
    public var leaveDuration: Duration = .seconds(1)

    public init() {}
}
