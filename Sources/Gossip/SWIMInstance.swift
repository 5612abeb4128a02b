#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the state machine asks its shell to do.
public enum SWIMDirective: Sendable, Hashable {
    /// Send this message (the shell encodes it, adds the HMAC tag and writes one datagram).
    case send(SWIMMessage, to: GossipAddress)
    /// A member's status, incarnation or metadata changed in this node's view (also the first time
    /// a member is seen, and for this node itself).
    case memberChanged(GossipMember)
}

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
}

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
/// Dead and left members are kept for `deadMemberRetention`, so late gossip about them is
/// recognised as stale, then forgotten.
public struct SWIMInstance: Sendable {
    public let settings: SWIMSettings

    /// This node's own record (its status is `.alive`, or `.left` once it leaves).
    public private(set) var myself: GossipMember
    public private(set) var stats = SWIMStats()
    /// Lifeguard's local health multiplier, 0 when healthy.
    public private(set) var localHealth: Int = 0
    /// True once a full state has been exchanged with another member, or at once without seeds.
    public private(set) var isJoined: Bool
    /// True once a leave has been announced for `leaveDuration`: the instance does nothing more.
    public private(set) var hasLeft = false

    private struct Suspicion: Sendable {
        var start: SWIMInstant
        var confirmers: [String]
        var probedByUs: Bool
    }

    private struct MemberState: Sendable {
        var member: GossipMember
        var since: SWIMInstant
        var suspicion: Suspicion?
    }

    private struct PendingProbe: Sendable {
        var sequence: UInt64
        var target: String
        var address: GossipAddress
        var directDeadline: SWIMInstant
        var endDeadline: SWIMInstant
        var indirectSent = false
        var expectedNacks = 0
        var nacks = 0
    }

    private struct Relay: Sendable {
        var origin: GossipAddress
        var originSequence: UInt64
        var target: String
        var nackDeadline: SWIMInstant
        var nackSent = false
        var expiry: SWIMInstant
    }

    private struct Broadcast: Sendable {
        var update: SWIMUpdate
        var size: Int
        var transmits: Int
        var order: UInt64
    }

    // Settings in nanoseconds.
    private let periodNs: Int64
    private let probeTimeoutNs: Int64
    private let stallNs: Int64

    private var others: [String: MemberState] = [:]
    /// Ids of `others`, sorted: deterministic iteration and random picks.
    private var memberIDs: [String] = []
    private var suspects: Set<String> = []
    private var inactive: Set<String> = []
    /// Other members that are alive or suspect.
    private var activeCount = 0
    /// Other members that are alive.
    private var aliveOthers = 0

    private var probeOrder: [String] = []
    private var probeIndex = 0
    private var pending: PendingProbe?
    private var relays: [UInt64: Relay] = [:]
    private var nextSequence: UInt64 = 1
    private var nextProbeTime: SWIMInstant

    private var broadcasts: [String: Broadcast] = [:]
    private var broadcastCounter: UInt64 = 0

    private var seeds: [GossipAddress]
    private var joinBackoffNs: Int64
    private var nextJoinAttempt: SWIMInstant
    private var nextSyncTime: SWIMInstant
    private var leaveDeadline: SWIMInstant?
    private var nextLeaveGossip = SWIMInstant.zero

    private var postJoinSyncs = 0
    private var nextSeedCheck = SWIMInstant.zero
    private var started = false
    private var expectedWakeup: SWIMInstant?
    private var lastEvent = SWIMInstant(nanoseconds: .min)
    private var lastCorrection: [String: SWIMInstant] = [:]
    private var lastRefutationTo: [String: SWIMInstant] = [:]
    private var lastStaleReply: [String: SWIMInstant] = [:]
    private var lastSyncRequest: [GossipAddress: SWIMInstant] = [:]
    private var rng: SWIMRandom
    private var output: [SWIMDirective] = []

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
        if !isJoined && !seeds.isEmpty && now >= nextJoinAttempt {
            for seed in seeds { sendFullState(to: seed, replyRequested: true) }
            nextJoinAttempt = now + joinBackoffNs
            joinBackoffNs = min(joinBackoffNs * 2, settings.joinRetryMaxInterval.nanoseconds)
        }
        if isJoined && !seeds.isEmpty && now >= nextSeedCheck {
            nextSeedCheck = now + settings.joinRetryMaxInterval.nanoseconds
            var active: Set<GossipAddress> = []
            for st in others.values where st.member.status == .alive { active.insert(st.member.address) }
            for seed in seeds where !active.contains(seed) {
                send(.sync(replyRequested: true), to: seed, destination: nil, forced: [SWIMUpdate(member: myself)])
            }
        }
        if var p = pending {
            if !p.indirectSent && now >= p.directDeadline {
                p.indirectSent = true
                let relaysChosen = randomMembers(count: settings.indirectProbes, excluding: p.target, aliveOnly: true)
                p.expectedNacks = relaysChosen.count
                pending = p
                send(.ping(sequence: p.sequence, target: p.target), to: p.address, destination: p.target)
                for id in relaysChosen {
                    send(
                        .pingRequest(sequence: p.sequence, target: p.target, targetAddress: p.address),
                        to: others[id]!.member.address, destination: id)
                }
            }
            if now >= p.endDeadline { probeFailed(p, now: now) }
        }
        for seq in relays.keys.sorted() {  // sorted: no dependence on hashing order
            guard var r = relays[seq] else { continue }
            if !r.nackSent && now >= r.nackDeadline {
                r.nackSent = true
                relays[seq] = r
                send(.nack(sequence: r.originSequence), to: r.origin, destination: nil)
            }
            if now >= r.expiry { relays[seq] = nil }
        }
        expireSuspicions(now)
        if now >= nextProbeTime {
            stats.rounds += 1
            let interval = periodNs * Int64(1 + localHealth)
            nextProbeTime = max(nextProbeTime + interval, now + interval / 2)
            startProbe(now)
            gossipFanout(now, forced: [])
            forgetOldMembers(now)
        }
        if now >= nextSyncTime {
            if let id = randomMembers(count: 1, excluding: nil, aliveOnly: true).first {
                sendFullState(to: others[id]!.member.address, replyRequested: true)
            }
            let chunks = Int64(max(1, (memberIDs.count + 1) / 8))
            if postJoinSyncs > 0 {
                postJoinSyncs -= 1
                nextSyncTime = now + periodNs * 2
            } else {
                nextSyncTime = now + Int64(Double(settings.syncInterval.nanoseconds * chunks) * (0.75 + 0.5 * rng.nextUnit()))
            }
        }
        return finish()
    }

    /// A message from `source` (the address the datagram came from).
    public mutating func onMessage(_ message: SWIMMessage, from source: GossipAddress, now: SWIMInstant) -> [SWIMDirective] {
        begin(now)
        if hasLeft || message.senderID == myself.id { return finish() }
        var isSync = false
        if case .sync = message.kind { isSync = true }
        let wasJoined = isJoined
        var senderIsWrongAboutUs = false
        var suspectors: [String] = []
        var staleNews: [SWIMUpdate] = []
        for update in message.updates {
            if let st = others[update.member.id], update.member.id != message.senderID, !st.member.status.isActive,
                update.member.incarnation < st.member.incarnation
                    || (update.member.incarnation == st.member.incarnation && update.member.status.rank < st.member.status.rank)
            {
                // The sender gossips an older state of a member we know dead or gone (it missed the
                // news, e.g. a leave): tell it, rather than let it suspect and declare on its own.
                staleNews.append(SWIMUpdate(member: st.member))
            }
            apply(update, now: now, rebroadcast: !isSync || wasJoined || update.member.id == message.senderID)
            if update.member.id == myself.id && leaveDeadline == nil
                && (update.member.status != .alive || update.member.incarnation < myself.incarnation)
            {
                senderIsWrongAboutUs = true
                if let by = update.suspectedBy, by != message.senderID, others[by] != nil, !suspectors.contains(by) {
                    suspectors.append(by)
                }
            }
        }
        if !staleNews.isEmpty && leaveDeadline == nil
            && lastStaleReply[message.senderID].map({ now.nanoseconds - $0.nanoseconds >= periodNs }) ?? true
        {
            lastStaleReply[message.senderID] = now
            send(.gossip, to: source, destination: message.senderID, forced: Array(staleNews.prefix(8)))
        }
        // Whoever suspected us gets our refutation straight away: it may be the member least
        // likely to hear the epidemic of the refutation in time (it is not probing us any more).
        for by in suspectors where lastRefutationTo[by].map({ now.nanoseconds - $0.nanoseconds >= periodNs }) ?? true {
            lastRefutationTo[by] = now
            send(.gossip, to: others[by]!.member.address, destination: by, forced: [SWIMUpdate(member: myself)])
        }
        let sender = message.senderID
        var forcedAboutUs: [SWIMUpdate] = []
        if senderIsWrongAboutUs {
            // The sender believes us suspect or dead, or at an old incarnation (its view may be
            // stale: our refutation did not reach it). Our current record goes with our answer.
            forcedAboutUs = [SWIMUpdate(member: myself)]
            if case .ping(_, let target) = message.kind, target == myself.id {
                // Goes with the ack below.
            } else if lastRefutationTo[sender].map({ now.nanoseconds - $0.nanoseconds >= periodNs }) ?? true {
                lastRefutationTo[sender] = now
                send(.gossip, to: source, destination: sender, forced: forcedAboutUs)
            }
        }
        if let st = others[sender] {
            let m = st.member
            let stale =
                m.incarnation > message.senderIncarnation || m.status == .suspect || m.status == .dead
                || (m.status == .left && message.senderIncarnation > m.incarnation)
            if stale {
                // We believe the sender suspect or dead, or it is behind what we know of it: tell it
                // what we believe, so that it refutes (or, if it refuted already, tells us).
                if lastCorrection[sender].map({ now.nanoseconds - $0.nanoseconds >= periodNs }) ?? true {
                    lastCorrection[sender] = now
                    send(.gossip, to: source, destination: sender, forced: [SWIMUpdate(member: m)])
                }
            }
        } else if !isSync && leaveDeadline == nil {
            // A member we do not know (missed its join, or forgot it): ask for its state.
            if lastSyncRequest[source].map({ now.nanoseconds - $0.nanoseconds >= periodNs * 5 }) ?? true {
                lastSyncRequest[source] = now
                send(.sync(replyRequested: true), to: source, destination: sender, forced: [SWIMUpdate(member: myself)])
            }
        }

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

    /// We were not running for `gap` (SIGSTOP, a blocked event loop): nothing that timed out in
    /// the meantime is evidence against anyone.
    private mutating func stalled(gap: Int64, now: SWIMInstant) {
        stats.stalls += 1
        pending = nil
        relays = [:]
        localHealth = settings.maxLocalHealthMultiplier
        for id in suspects {
            others[id]!.suspicion!.start = others[id]!.suspicion!.start + gap
        }
        nextProbeTime = now + periodNs
        nextSyncTime = max(nextSyncTime, now + periodNs)
        nextJoinAttempt = max(nextJoinAttempt, now)
        nextSeedCheck = max(nextSeedCheck, now + periodNs)
    }

    private mutating func takeSequence() -> UInt64 {
        defer { nextSequence &+= 1 }
        return nextSequence
    }

    // MARK: - Probing

    private mutating func startProbe(_ now: SWIMInstant) {
        guard let target = nextProbeTarget() else { return }
        let address = others[target]!.member.address
        let scale = Int64(1 + localHealth)
        pending = PendingProbe(
            sequence: takeSequence(), target: target, address: address,
            directDeadline: now + probeTimeoutNs * scale, endDeadline: now + periodNs * scale)
        send(.ping(sequence: pending!.sequence, target: target), to: address, destination: target)
    }

    private mutating func nextProbeTarget() -> String? {
        // Suspects we have not probed since they became suspect, oldest suspicion first.
        var best: (String, SWIMInstant)?
        for id in suspects {
            guard let s = others[id]?.suspicion, !s.probedByUs else { continue }
            if best == nil || s.start < best!.1 || (s.start == best!.1 && id < best!.0) { best = (id, s.start) }
        }
        if let (id, _) = best {
            others[id]!.suspicion!.probedByUs = true
            return id
        }
        if activeCount == 0 { return nil }
        var reshuffled = false
        while true {
            if probeIndex >= probeOrder.count {
                if reshuffled { return nil }
                reshuffled = true
                probeOrder = memberIDs.filter { others[$0]!.member.status.isActive }
                probeOrder.shuffle(using: &rng)
                probeIndex = 0
            }
            let id = probeOrder[probeIndex]
            probeIndex += 1
            if let st = others[id], st.member.status.isActive {
                if st.member.status == .suspect { others[id]!.suspicion!.probedByUs = true }
                return id
            }
        }
    }

    private mutating func probeFailed(_ p: PendingProbe, now: SWIMInstant) {
        pending = nil
        stats.failedProbes += 1
        if p.expectedNacks > 0 {
            localHealth += max(0, p.expectedNacks - p.nacks)
        } else {
            localHealth += 1
        }
        localHealth = min(localHealth, settings.maxLocalHealthMultiplier)
        guard let st = others[p.target], st.member.status.isActive else { return }
        var m = st.member
        m.status = .suspect
        apply(SWIMUpdate(member: m, suspectedBy: myself.id), now: now, rebroadcast: true)
        if others[p.target]?.suspicion != nil { others[p.target]!.suspicion!.probedByUs = true }
    }

    /// The current suspicion timeout for a suspicion with `confirmations` independent
    /// confirmations (besides the first suspicion).
    func suspicionTimeout(confirmations: Int) -> Int64 {
        let n = activeCount + 1
        let minT = settings.suspicionMinMultiplier * max(1.0, log10(Double(n))) * Double(periodNs)
        let maxT = settings.suspicionMaxMultiplier * minT
        let k = min(settings.expectedConfirmations, n - 2)
        if k < 1 { return Int64(minT) }
        let c = min(max(0, confirmations), k)
        let fraction = log(Double(c + 1)) / log(Double(k + 1))
        return Int64(max(minT, maxT - fraction * (maxT - minT)))
    }

    private mutating func expireSuspicions(_ now: SWIMInstant) {
        guard !suspects.isEmpty else { return }
        for id in suspects.sorted() {
            guard let st = others[id], let s = st.suspicion else { continue }
            if now >= s.start + suspicionTimeout(confirmations: s.confirmers.count - 1) {
                var m = st.member
                m.status = .dead
                apply(SWIMUpdate(member: m), now: now, rebroadcast: true)
            }
        }
    }

    // MARK: - Membership updates

    private mutating func apply(_ update: SWIMUpdate, now: SWIMInstant, rebroadcast: Bool) {
        let new = update.member
        if new.id == myself.id {
            applyAboutMyself(new)
            return
        }
        guard let st = others[new.id] else {
            add(update, now: now, rebroadcast: rebroadcast)
            return
        }
        let old = st.member
        if new.incarnation > old.incarnation || (new.incarnation == old.incarnation && new.status.rank > old.status.rank) {
            replace(st, with: update, now: now)
            if rebroadcast { enqueueBroadcast(update) }
        } else if new.incarnation == old.incarnation, new.status == .suspect, old.status == .suspect,
            let by = update.suspectedBy, !st.suspicion!.confirmers.contains(by)
        {
            // An independent confirmation (Lifeguard): shortens the timeout; pass it on.
            others[new.id]!.suspicion!.confirmers.append(by)
            if rebroadcast { enqueueBroadcast(update) }
        }
    }

    private mutating func applyAboutMyself(_ claim: GossipMember) {
        guard leaveDeadline == nil else { return }
        let refute: Bool
        switch claim.status {
        case .alive: refute = claim.incarnation > myself.incarnation
        case .suspect, .dead, .left: refute = claim.incarnation >= myself.incarnation
        }
        guard refute else { return }
        myself.incarnation = claim.incarnation == .max ? .max : claim.incarnation + 1
        stats.refutations += 1
        if claim.status != .alive {
            localHealth = min(localHealth + 1, settings.maxLocalHealthMultiplier)
        }
        output.append(.memberChanged(myself))
        enqueueBroadcast(SWIMUpdate(member: myself))
    }

    private mutating func add(_ update: SWIMUpdate, now: SWIMInstant, rebroadcast: Bool) {
        let m = update.member
        var st = MemberState(member: m, since: now, suspicion: nil)
        switch m.status {
        case .alive:
            activeCount += 1
            aliveOthers += 1
        case .suspect:
            activeCount += 1
            st.suspicion = Suspicion(start: now, confirmers: [update.suspectedBy ?? ""], probedByUs: false)
            suspects.insert(m.id)
            stats.suspicions += 1
        case .dead, .left:
            inactive.insert(m.id)
        }
        others[m.id] = st
        let index = insertionIndex(m.id)
        memberIDs.insert(m.id, at: index)
        if m.status.isActive {
            // Probed within the current round.
            let at = probeIndex + Int(rng.next() % UInt64(probeOrder.count - probeIndex + 1))
            probeOrder.insert(m.id, at: min(at, probeOrder.count))
        }
        output.append(.memberChanged(m))
        if rebroadcast { enqueueBroadcast(update) }
    }

    private mutating func replace(_ st: MemberState, with update: SWIMUpdate, now: SWIMInstant) {
        let old = st.member
        let new = update.member
        var next = MemberState(member: new, since: now, suspicion: nil)
        if old.status.isActive { activeCount -= 1 }
        if new.status.isActive { activeCount += 1 }
        if old.status == .alive { aliveOthers -= 1 }
        if new.status == .alive { aliveOthers += 1 }
        if new.status == .suspect {
            next.suspicion = Suspicion(start: now, confirmers: [update.suspectedBy ?? ""], probedByUs: false)
            suspects.insert(new.id)
            stats.suspicions += 1
        } else {
            suspects.remove(new.id)
        }
        if new.status.isActive {
            inactive.remove(new.id)
            if !old.status.isActive {
                let at = probeIndex + Int(rng.next() % UInt64(probeOrder.count - probeIndex + 1))
                probeOrder.insert(new.id, at: min(at, probeOrder.count))
            }
        } else {
            inactive.insert(new.id)
            if new.status == .dead { stats.deaths += 1 }
            if pending?.target == new.id { pending = nil }
        }
        others[new.id] = next
        output.append(.memberChanged(new))
    }

    private func insertionIndex(_ id: String) -> Int {
        var lo = 0
        var hi = memberIDs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if memberIDs[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private mutating func forgetOldMembers(_ now: SWIMInstant) {
        guard !inactive.isEmpty else { return }
        let retention = settings.deadMemberRetention.nanoseconds
        for id in inactive.sorted() {
            guard let st = others[id], now.nanoseconds - st.since.nanoseconds >= retention else { continue }
            others[id] = nil
            inactive.remove(id)
            broadcasts[id] = nil
            lastCorrection[id] = nil
            memberIDs.remove(at: insertionIndex(id))
        }
        if lastSyncRequest.count > 64 { lastSyncRequest = [:] }
        if lastRefutationTo.count > 2 * memberIDs.count + 16 { lastRefutationTo = [:] }
        if lastCorrection.count > 2 * memberIDs.count + 16 { lastCorrection = [:] }
        if lastStaleReply.count > 2 * memberIDs.count + 16 { lastStaleReply = [:] }
    }

    // MARK: - Dissemination

    private mutating func enqueueBroadcast(_ update: SWIMUpdate) {
        broadcastCounter += 1
        let size = SWIMCodec.encodedSize(of: update)
        guard size <= SWIMCodec.maxRecordSize else { return }
        broadcasts[update.member.id] = Broadcast(update: update, size: size, transmits: 0, order: broadcastCounter)
    }

    /// Each update is sent at most this many times by this node: ceil(λ·ln(n+1)).
    var retransmitLimit: Int {
        max(1, Int((settings.retransmitMultiplier * log(Double(activeCount + 2))).rounded(.up)))
    }

    private var payloadBudget: Int { settings.maxDatagramSize - GossipAuthenticator.tagSize }

    private mutating func send(
        _ kind: SWIMMessageKind, to address: GossipAddress, destination: String?, forced: [SWIMUpdate] = []
    ) {
        var forced = forced
        if let destination, let st = others[destination], st.member.status == .suspect,
            !forced.contains(where: { $0.member.id == destination })
        {
            // Lifeguard's buddy system: a suspect always hears of its suspicion from us.
            forced.append(SWIMUpdate(member: st.member, suspectedBy: st.suspicion?.confirmers.first { !$0.isEmpty }))
        }
        var message = SWIMMessage(senderID: myself.id, senderIncarnation: myself.incarnation, kind: kind, updates: forced)
        var budget = payloadBudget - SWIMCodec.encodedHeaderSize(of: message) - 2
        for u in forced { budget -= SWIMCodec.encodedSize(of: u) }
        if !broadcasts.isEmpty && budget > 0 {
            message.updates.append(contentsOf: takePiggyback(budget: budget, destination: destination, skip: forced))
        }
        output.append(.send(message, to: address))
    }

    /// Updates about the destination first (so a suspect learns of its suspicion at once), then
    /// the least transmitted, newest first.
    private mutating func takePiggyback(budget: Int, destination: String?, skip: [SWIMUpdate]) -> [SWIMUpdate] {
        let limit = retransmitLimit
        var candidates = Array(broadcasts.values)
        candidates.sort { a, b in
            let aDest = a.update.member.id == destination
            let bDest = b.update.member.id == destination
            if aDest != bDest { return aDest }
            if a.transmits != b.transmits { return a.transmits < b.transmits }
            return a.order > b.order
        }
        var left = budget
        var chosen: [SWIMUpdate] = []
        for c in candidates {
            if left < 8 { break }
            guard c.size <= left, !skip.contains(where: { $0.member.id == c.update.member.id }) else { continue }
            left -= c.size
            chosen.append(c.update)
            let id = c.update.member.id
            if c.transmits + 1 >= limit {
                broadcasts[id] = nil
            } else {
                broadcasts[id]!.transmits += 1
            }
        }
        return chosen
    }

    private mutating func gossipFanout(_ now: SWIMInstant, forced: [SWIMUpdate]) {
        // While we suspect members, the one suspected longest gets one of the slots every period:
        // it hears of its suspicion from us (buddy system) and answers with its refutation, even
        // if the epidemic of that refutation passed us by.
        var suspect: String?
        if leaveDeadline == nil {
            var oldest: SWIMInstant?
            for id in suspects {
                guard let start = others[id]?.suspicion?.start else { continue }
                if oldest == nil || start < oldest! || (start == oldest! && id < suspect!) {
                    oldest = start
                    suspect = id
                }
            }
        }
        if let suspect {
            send(.gossip, to: others[suspect]!.member.address, destination: suspect, forced: forced)
        }
        guard !broadcasts.isEmpty || !forced.isEmpty else { return }
        let count = settings.gossipFanout - (suspect == nil ? 0 : 1)
        for id in randomMembers(count: count, excluding: suspect, aliveOnly: false) {
            if forced.isEmpty && broadcasts.isEmpty { break }
            send(.gossip, to: others[id]!.member.address, destination: id, forced: forced)
        }
    }

    /// Our full state (ourselves first), cut into datagrams.
    private mutating func sendFullState(to address: GossipAddress, replyRequested: Bool) {
        let header = SWIMMessage(senderID: myself.id, senderIncarnation: myself.incarnation, kind: .sync(replyRequested: replyRequested))
        let budget = payloadBudget - SWIMCodec.encodedHeaderSize(of: header) - 2
        var records = [SWIMUpdate(member: myself)]
        for id in memberIDs {
            let st = others[id]!
            records.append(
                SWIMUpdate(
                    member: st.member, suspectedBy: st.member.status == .suspect ? st.suspicion?.confirmers.first { !$0.isEmpty } : nil))
        }
        var chunk: [SWIMUpdate] = []
        var used = 0
        var first = true
        func flush(_ out: inout [SWIMDirective]) {
            var m = header
            m.kind = .sync(replyRequested: replyRequested && first)
            m.updates = chunk
            out.append(.send(m, to: address))
            first = false
            chunk = []
            used = 0
        }
        for r in records {
            let size = SWIMCodec.encodedSize(of: r)
            guard size <= SWIMCodec.maxRecordSize else { continue }
            if used + size > budget { flush(&output) }
            chunk.append(r)
            used += size
        }
        if !chunk.isEmpty { flush(&output) }
    }

    /// Up to `count` distinct random members (alive, or alive and suspect), never `excluding`.
    private mutating func randomMembers(count: Int, excluding: String?, aliveOnly: Bool) -> [String] {
        guard count > 0, !memberIDs.isEmpty else { return [] }
        func eligible(_ id: String) -> Bool {
            guard id != excluding, let st = others[id] else { return false }
            return aliveOnly ? st.member.status == .alive : st.member.status.isActive
        }
        var chosen: [String] = []
        var attempts = 0
        let available = (aliveOnly ? aliveOthers : activeCount) - (excluding == nil ? 0 : 1)
        if memberIDs.count <= 4 * count || available <= 2 * count {
            var all = memberIDs.filter(eligible)
            all.shuffle(using: &rng)
            return Array(all.prefix(count))
        }
        while chosen.count < count && attempts < 8 * count {
            attempts += 1
            let id = memberIDs[Int(rng.next() % UInt64(memberIDs.count))]
            if eligible(id) && !chosen.contains(id) { chosen.append(id) }
        }
        if chosen.count < count {
            var all = memberIDs.filter { eligible($0) && !chosen.contains($0) }
            all.shuffle(using: &rng)
            chosen.append(contentsOf: all.prefix(count - chosen.count))
        }
        return chosen
    }
}
