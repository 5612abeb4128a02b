/// SWIM membership as a pure state machine, with Lifeguard's refinements.
///
/// Events go in (`onTick`, `onMessage`, `onLeave`), directives come out (`.send`,
/// `.memberChanged`). Time is passed in; randomness comes from a generator seeded at init. Nothing
/// here does I/O or reads a clock, so a simulation with many instances is deterministic and
/// replays from its seed. The caller calls `onTick` at `nextDeadline` (earlier is harmless).
///
/// The protocol, per node and per protocol period:
/// - **Probe** one member, round-robin over a shuffled list (members that became suspect since we
///   last probed them come first, so a crashed member gathers independent suspicions fast): ping;
///   no ack within the probe timeout → ping once more and ask `k` members to ping it for us
///   (ping-req); no ack by the end of the period → suspect it.
/// - **Suspicion** (`suspect`, incarnation i) ends when the member refutes it with an incarnation
///   > i, or when the suspicion timeout expires: then it is declared dead. The timeout shrinks
///   from max to min on a log curve as independent members confirm the suspicion (Lifeguard), so
///   real crashes are declared fast and lone suspicions caused by packet loss have a long time to
///   be refuted. Refutations travel fast (Lifeguard's buddy system, extended): every message to a
///   suspect carries our suspicion, and the longest-suspected member gets one gossip message from
///   us every period; the suspect answers whoever tells it a stale view with its current record,
///   and sends its refutation straight to the member that suspected it.
/// - **Corrections**: a message from a member we believe suspect or dead, or at an older
///   incarnation than we know, is answered with what we believe, so that it refutes (after a
///   SIGSTOP, a partition, or a restart).
/// - **Local health** (Lifeguard): a multiplier `lhm` scales probe interval and timeout. It grows
///   when our probes fail without the relays' nacks (we are the problem), when we must refute a
///   suspicion of ourselves, and jumps to its maximum when we notice we were not running (a gap
///   between events); it shrinks with each successful probe. After a stall, timeouts that expired
///   while we were not running are not held against the others.
/// - **Dissemination**: news (a member's record) is piggybacked on every message, fewest
///   transmissions first, each at most `ceil(λ·ln(n+1))` times, and sent to `gossipFanout` random
///   members each period. Messages per node per period do not depend on the cluster size.
/// - **Join**: a full-state exchange (`sync`) with the seeds, retried with back-off until one
///   answers. **Anti-entropy**: the same exchange with a random member now and then.
/// - **Leave**: status `.left` is sent to every member once, then gossiped for `leaveDuration`;
///   then the instance stops. A member that still gossips an older state of a member we know dead
///   or left is told so.
///
/// Incarnations: a member raises its own incarnation above whatever it hears about itself
/// (suspect, dead, left, or an alive with a higher number), so a member declared dead that is
/// running rejoins as `alive`, and a restarted process that starts at a lower incarnation than the
/// cluster remembers jumps above it as soon as it hears of it (the shell also starts at
/// milliseconds since the epoch, so a restart is normally higher already).
///
/// Left members are kept for `deadMemberRetention`, so late gossip about them is recognised as
/// stale, then forgotten. Dead members are kept for `reconnectTimeout` (24 h) and re-probed one at
/// a time every `deadMemberProbeInterval` (memberlist's and Serf's reconnect), so that both sides
/// of a partition of any length find each other again once it heals, whichever nodes the seeds
/// are.
///
/// Where the rules live:
/// - `SWIMInstance.swift`: the state, `init`, the views, and the event entry points (`onTick`,
///   `onMessage`, `onLeave`), which dispatch to the extensions below; leaving is handled here.
/// - `SWIMInstance+Probing.swift`: direct and indirect probes (ping, ping-req, relays and their
///   nacks), probe timeouts, the probe order, failed probes.
/// - `SWIMInstance+Suspicion.swift`: suspicion timeouts (Lifeguard) and expiry, refutation of
///   what is said about this node, corrections of senders with a stale view, local health after
///   a stall.
/// - `SWIMInstance+Dissemination.swift`: the piggyback queue and retransmit limit, gossip fan-out
///   (buddy system), full-state exchange and anti-entropy.
/// - `SWIMInstance+Membership.swift`: applying records to the member table, join through the
///   seeds, re-probes of dead members, retention of dead and left members, random member picks.
public struct SWIMInstance: Sendable {
    public let settings: SWIMSettings

    /// This node's own record (its status is `.alive`, or `.left` once it leaves).
    public internal(set) var myself: GossipMember
    public internal(set) var stats = SWIMStats()
    /// Lifeguard's local health multiplier, 0 when healthy.
    public internal(set) var localHealth: Int = 0
    /// True once a full state has been exchanged with another member, or at once without seeds.
    public internal(set) var isJoined: Bool
    /// True once a leave has been announced for `leaveDuration`: the instance does nothing more.
    public internal(set) var hasLeft = false

    // The nested types and the state below are internal rather than private only so that the
    // `SWIMInstance+*.swift` extensions can reach them; none of it is API.

    struct Suspicion: Sendable {
        var start: SWIMInstant
        var confirmers: [String]
        var probedByUs: Bool
    }

    struct MemberState: Sendable {
        var member: GossipMember
        var since: SWIMInstant
        var suspicion: Suspicion?
    }

    struct PendingProbe: Sendable {
        var sequence: UInt64
        var target: String
        var address: GossipAddress
        var directDeadline: SWIMInstant
        var endDeadline: SWIMInstant
        var indirectSent = false
        var expectedNacks = 0
        var nacks = 0
    }

    struct Relay: Sendable {
        var origin: GossipAddress
        var originSequence: UInt64
        var target: String
        var nackDeadline: SWIMInstant
        var nackSent = false
        var expiry: SWIMInstant
    }

    struct Broadcast: Sendable {
        var update: SWIMUpdate
        var size: Int
        var transmits: Int
        var order: UInt64
    }

    // Settings in nanoseconds.
    let periodNs: Int64
    let probeTimeoutNs: Int64
    let stallNs: Int64

    var others: [String: MemberState] = [:]
    /// Ids of `others`, sorted: deterministic iteration and random picks.
    var memberIDs: [String] = []
    var suspects: Set<String> = []
    var inactive: Set<String> = []
    /// Other members that are alive or suspect.
    var activeCount = 0
    /// Other members that are alive.
    var aliveOthers = 0

    var probeOrder: [String] = []
    var probeIndex = 0
    var pending: PendingProbe?
    var relays: [UInt64: Relay] = [:]
    var nextSequence: UInt64 = 1
    var nextProbeTime: SWIMInstant

    var broadcasts: [String: Broadcast] = [:]
    var broadcastCounter: UInt64 = 0

    var seeds: [GossipAddress]
    var joinBackoffNs: Int64
    var nextJoinAttempt: SWIMInstant
    var nextSyncTime: SWIMInstant
    var leaveDeadline: SWIMInstant?
    var nextLeaveGossip = SWIMInstant.zero

    var nextDeadProbe = SWIMInstant.zero
    var deadProbeIndex = 0
    var postJoinSyncs = 0
    var nextSeedCheck = SWIMInstant.zero
    var started = false
    var expectedWakeup: SWIMInstant?
    var lastEvent = SWIMInstant(nanoseconds: .min)
    var lastCorrection: [String: SWIMInstant] = [:]
    var lastRefutationTo: [String: SWIMInstant] = [:]
    var lastStaleReply: [String: SWIMInstant] = [:]
    var lastSyncRequest: [GossipAddress: SWIMInstant] = [:]
    var rng: SWIMRandom
    var output: [SWIMDirective] = []

    /// - Parameters:
    ///   - myself: this node's record (id, address, metadata, starting incarnation).
    ///   - seeds: addresses to join through; our own address is ignored.
    ///   - now: the current time.
    ///   - randomSeed: seed of all the instance's random choices.
    public init(settings: SWIMSettings = .init(), myself: GossipMember, seeds: [GossipAddress], now: SWIMInstant, randomSeed: UInt64) {
        self.settings = settings
        var me = myself
        me.status = .alive
        self.myself = me
        self.periodNs = max(1_000_000, settings.protocolPeriod.nanoseconds)
        self.probeTimeoutNs = min(max(100_000, settings.probeTimeout.nanoseconds), periodNs)
        self.stallNs = max(settings.stallThreshold.nanoseconds, periodNs)
        var seen: Set<GossipAddress> = []
        self.seeds = seeds.filter { $0 != me.address && seen.insert($0).inserted }
        self.isJoined = self.seeds.isEmpty
        self.rng = SWIMRandom(seed: randomSeed)
        self.joinBackoffNs = settings.joinRetryInitialInterval.nanoseconds
        self.nextJoinAttempt = now
        self.nextSeedCheck = now + settings.joinRetryMaxInterval.nanoseconds
        let jitter = Int64(Double(periodNs) * rng.nextUnit())
        self.nextProbeTime = now + jitter
        self.nextSyncTime = now + Int64(Double(settings.syncInterval.nanoseconds) * (0.5 + rng.nextUnit()))
    }

    // MARK: - Views

    /// Every member known, this node included, all statuses, sorted by id.
    public var members: [GossipMember] {
        var result = [myself]
        result.reserveCapacity(memberIDs.count + 1)
        for id in memberIDs { result.append(others[id]!.member) }
        return result.sorted { $0.id < $1.id }
    }

    /// A member's record as this node sees it (this node included).
    public func member(_ id: String) -> GossipMember? {
        id == myself.id ? myself : others[id]?.member
    }

    /// Members with status alive, this node included (unless it left).
    public var aliveCount: Int { aliveOthers + (myself.status == .alive ? 1 : 0) }

    /// When `onTick` should be called next.
    public var nextDeadline: SWIMInstant {
        if hasLeft { return SWIMInstant(nanoseconds: .max) }
        if let leaveDeadline { return min(leaveDeadline, nextLeaveGossip) }
        var d = min(nextProbeTime, nextSyncTime)
        if let p = pending {
            d = min(d, p.indirectSent ? p.endDeadline : p.directDeadline)
        }
        for r in relays.values where !r.nackSent { d = min(d, r.nackDeadline) }
        for id in suspects {
            if let st = others[id], let s = st.suspicion {
                d = min(d, s.start + suspicionTimeout(confirmations: s.confirmers.count - 1))
            }
        }
        if !seeds.isEmpty { d = min(d, isJoined ? nextSeedCheck : nextJoinAttempt) }
        if !inactive.isEmpty { d = min(d, max(nextDeadProbe, lastEvent)) }
        return d
    }

    // MARK: - Events

    /// Timers: probes, timeouts, suspicion expiry, gossip fan-out, join retries, anti-entropy.
    public mutating func onTick(now: SWIMInstant) -> [SWIMDirective] {
        begin(now)
        if hasLeft { return finish() }
        if let deadline = leaveDeadline {
            if now >= deadline {
                hasLeft = true
                broadcasts = [:]
            } else if now >= nextLeaveGossip {
                gossipFanout(now, forced: [SWIMUpdate(member: myself)])
                nextLeaveGossip = now + periodNs
            }
            return finish()
        }
        joinThroughSeeds(now)
        probeDeadMember(now)
        checkProbeTimeouts(now)
        expireSuspicions(now)
        if now >= nextProbeTime {
            stats.rounds += 1
            let interval = periodNs * Int64(1 + localHealth)
            nextProbeTime = max(nextProbeTime + interval, now + interval / 2)
            startProbe(now)
            gossipFanout(now, forced: [])
            forgetOldMembers(now)
        }
        if now >= nextSyncTime { antiEntropySync(now) }
        return finish()
    }

    /// A message from `source` (the address the datagram came from).
    public mutating func onMessage(_ message: SWIMMessage, from source: GossipAddress, now: SWIMInstant) -> [SWIMDirective] {
        begin(now)
        if hasLeft || message.senderID == myself.id { return finish() }
        var isSync = false
        if case .sync = message.kind { isSync = true }
        let forcedAboutUs = receiveUpdates(of: message, from: source, isSync: isSync, now: now)
        let sender = message.senderID
        switch message.kind {
        case .ping(let seq, let target):
            guard target == myself.id else { break }
            send(
                .ack(sequence: seq, member: myself.id, incarnation: myself.incarnation), to: source, destination: sender,
                forced: forcedAboutUs)
        case .pingRequest(let seq, let target, let targetAddress):
            guard leaveDeadline == nil, target != myself.id else { break }
            let mySeq = takeSequence()
            let window = Double(periodNs - probeTimeoutNs)
            relays[mySeq] = Relay(
                origin: source, originSequence: seq, target: target,
                nackDeadline: now + Int64(window * 0.8), expiry: now + periodNs * 2)
            send(.ping(sequence: mySeq, target: target), to: targetAddress, destination: target)
        case .ack(let seq, let member, let incarnation):
            if let p = pending, p.sequence == seq, p.target == member {
                pending = nil
                localHealth = max(0, localHealth - 1)
            } else if let r = relays[seq], r.target == member {
                relays[seq] = nil
                send(.ack(sequence: r.originSequence, member: member, incarnation: incarnation), to: r.origin, destination: nil)
            }
        case .nack(let seq):
            if var p = pending, p.sequence == seq {
                p.nacks += 1
                pending = p
            }
        case .sync(let replyRequested):
            if !isJoined {
                // Chunks of the state we were sent may have been lost: two more exchanges soon.
                isJoined = true
                postJoinSyncs = 2
                nextSyncTime = min(nextSyncTime, now + periodNs)
            }
            if replyRequested && leaveDeadline == nil { sendFullState(to: source, replyRequested: false) }
        case .gossip:
            break
        }
        return finish()
    }

    /// Leave gracefully: announce `.left` for `leaveDuration`, then stop (`hasLeft`). Idempotent.
    public mutating func onLeave(now: SWIMInstant) -> [SWIMDirective] {
        begin(now)
        guard leaveDeadline == nil, !hasLeft else { return finish() }
        myself.status = .left
        output.append(.memberChanged(myself))
        pending = nil
        relays = [:]
        leaveDeadline = now + settings.leaveDuration.nanoseconds
        // Once to every member (a leave is rare, and this makes it known in one hop), then
        // fan-out every period until `leaveDuration` is over.
        for id in memberIDs where others[id]!.member.status.isActive {
            send(.gossip, to: others[id]!.member.address, destination: id, forced: [SWIMUpdate(member: myself)])
        }
        nextLeaveGossip = now + periodNs
        return finish()
    }

    /// How far a removal raises the removed member's incarnation (`onRemove`).
    static let removalIncarnationGap: UInt64 = 1 << 20

    /// Set when gossip says an operator removed this process (`applyAboutMyself`): it must stop.
    public internal(set) var removedByOperator = false

    /// An operator removes a member that is dead for good (`chat-node members remove`, Serf's
    /// `force-leave`): it is marked `.left` at its incarnation, as if it had left gracefully, and
    /// the update spreads like any other (`.left` outranks `.dead` at the same incarnation).
    /// Only a dead member is removed: a running one leaves by itself, and one that turns out to
    /// be running after all refutes with a higher incarnation and is a member again. Returns
    /// nothing when `id` is not a dead member.
    public mutating func onRemove(_ id: String, now: SWIMInstant) -> [SWIMDirective] {
        begin(now)
        guard let st = others[id], st.member.status == .dead else { return finish() }
        var member = st.member
        member.status = .left
        // Above any refutation the removed process may gossip if it was only cut off (each adds
        // one), so that the removal reaches it and stops it (`applyAboutMyself`) instead of
        // being overruled by its `alive`. A restarted process is another process: it refutes.
        member.incarnation = member.incarnation > .max - Self.removalIncarnationGap ? .max : member.incarnation + Self.removalIncarnationGap
        apply(SWIMUpdate(member: member), now: now, rebroadcast: true)
        return finish()
    }

    // MARK: - Plumbing

    private mutating func begin(_ now: SWIMInstant) {
        if !started {
            started = true
            output.append(.memberChanged(myself))
            enqueueBroadcast(SWIMUpdate(member: myself))
        }
        if let wake = expectedWakeup, now.nanoseconds - wake.nanoseconds > stallNs {
            stalled(gap: now.nanoseconds - wake.nanoseconds, now: now)
        }
        lastEvent = max(lastEvent, now)
    }

    private mutating func finish() -> [SWIMDirective] {
        // A deadline already due (an event came first) counts from now.
        expectedWakeup = max(nextDeadline, lastEvent)
        let result = output
        output = []
        return result
    }
}
