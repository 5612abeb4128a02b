/// One replica of one room's consensus group, as a pure state machine: events in, actions out.
///
/// A leader orders the room under an epoch that a majority of the group's voters promised. It
/// appends messages to the room's log, replicates them, and acks a message once a majority of the
/// voters (itself included) holds it. No I/O, no clock, no randomness: the caller passes the time
/// with each event, performs the actions in order, and delivers `.timer` when asked.
///
/// Rules a reader could not guess (each enforced in one place and named there):
/// - Leader choice: the first live voter in ring order campaigns first; others wait a delay that
///   grows with their rank (`GroupSettings.campaignStagger`). Liveness is gossip's view, so idle
///   rooms exchange no messages at all.
/// - Campaign (`RoomGroup+Election`): the candidate collects promises with log tails from a
///   majority and continues from the most advanced one (highest last epoch, then index), as VR.
///   A replica grants a promise only for an epoch above every one it promised, not while it
///   follows a leader that gossip says is alive (stickiness, so that a minority cannot depose a
///   working leader), and a candidate promises itself only at the moment it wins.
/// - Commit (`RoomGroup+Leader`): only entries of the leader's own epoch are committed by
///   counting replicas; earlier ones commit with them (Raft §5.4.2). Every new leader appends a
///   no-op for that purpose.
/// - Membership (`RoomGroup+Membership`): one voter at a time, only after the previous config
///   entry and the leader's no-op are committed.
/// - Resignation (`RoomGroup+Election`): a leader that stops leading tells its followers, since no
///   heartbeat would: an alive but deposed leader must not hold an idle room.
/// - Compaction (`RoomGroup+Log`): committed entries beyond `retainedEntries` become a snapshot,
///   before an event (never after what it committed); lagging replicas and candidates get it.
/// - Recovery (`RoomGroup+Recovery`): the only way out for a group whose majority is gone for
///   good; it keeps what is known committed and never reuses a seq that may have been acked.
public struct RoomGroup: Sendable {
    public let room: String
    public let me: ReplicaID
    public let settings: GroupSettings

    /// The log: a snapshot of the compacted prefix and the entries after it.
    var log = ReplicatedLog()
    var commitIndex = 0
    /// The highest epoch this replica promised (or followed): it refuses appends below it.
    var promised = Epoch.zero
    /// The leader (or promised candidate) of `promised`, if known.
    var leaderHint: ReplicaID?
    /// Whether an append of `promised` arrived (the hinted candidate really leads).
    var leaderConfirmed = false
    var promisedAt: UInt64 = 0
    /// When the followed leader's last append arrived.
    var lastLeaderContact: UInt64 = 0
    var highestTerm: UInt64 = 0
    var alive: Set<ReplicaID> = []
    var aliveBoot: [String: UInt64] = [:]
    var placement: [String] = []
    var campaignAt: UInt64?
    var campaign: Campaign?
    var leadership: Leadership?
    /// Set when a promise showed a more advanced log whose configuration leaves this replica
    /// out; cleared by the next append from a leader or the next change of gossip's view. While
    /// set, it does not campaign.
    var excludedByNewerLog = false
    /// The epoch this replica led and resigned from, and when it last said so.
    var resigned: (epoch: Epoch, at: UInt64)?
    var scheduledWake: UInt64?
    /// Set by `.retire`: the process is going away; this replica never campaigns again.
    var retired = false
    /// When this replica last handed leadership to the preferred voter (`yieldToPreferred`).
    var yieldedAt: UInt64?
    /// Log index and seq of each recent message, by `(user, id)`.
    var idIndex: [MessageKey: RecentID] = [:]
    var lastSeq: UInt64 = 0
    var lastTs: Int64 = 0
    /// Presence after every entry of the log (committed or not).
    var presence = PresenceTable()
    /// Set if this replica ever had to drop a committed entry (never should).
    public internal(set) var safetyBreach: String?

    struct MessageKey: Hashable, Sendable {
        var user: String
        var id: String
    }

    /// A replica of `room`. `genesis` is the room's first configuration, given only to the
    /// replicas that create the room; it must be the same on each of them (the wiring derives it
    /// from one roster version). A replica without it (a new member, a restarted process) starts
    /// empty and learns everything, genesis included, from a leader.
    ///
    /// `stored` continues a room whose messages only the history store still holds (no replica
    /// holds the room any more: every one restarted): the genesis is then a recovery entry that
    /// starts the seqs just before the store's contiguous tail (at most `idempotencyWindow`
    /// messages), followed by that tail as committed entries. No stored seq is given again, and
    /// a retry of a stored message is answered with its seq.
    public init(room: String, me: ReplicaID, genesis: GroupConfig?, stored: [GroupChatMessage] = [], settings: GroupSettings = .init()) {
        self.room = room
        self.me = me
        self.settings = settings
        if let genesis {
            let tail = Self.contiguousTail(of: stored, limit: Int(settings.idempotencyWindow))
            if let first = tail.first {
                let before = first.seq - 1
                log.append(LogEntry(epoch: .zero, payload: .recovery(Recovery(config: genesis, lostAfter: before, resumeAfter: before))))
                for message in tail { log.append(LogEntry(epoch: .zero, payload: .message(message))) }
            } else {
                log.append(LogEntry(epoch: .zero, payload: .config(genesis)))
            }
            commitIndex = lastIndex
            rebuildDerived()
        }
        alive = [me]
        aliveBoot = [me.node: me.boot]
    }

    /// The last messages of `stored` (by seq) that follow each other without a gap, at most `limit`.
    static func contiguousTail(of stored: [GroupChatMessage], limit: Int) -> [GroupChatMessage] {
        let sorted = stored.sorted { $0.seq < $1.seq }
        var tail: [GroupChatMessage] = []
        for message in sorted.reversed() {
            guard tail.count < limit, message.seq > 0, tail.last.map({ $0.seq == message.seq + 1 }) ?? true else { break }
            tail.append(message)
        }
        return tail.reversed()
    }

    /// Handles one event at time `now` (ns) and returns what to do, in order.
    public mutating func handle(_ event: GroupEvent, now: UInt64) -> [GroupAction] {
        // Compaction comes first, never after what an event committed: whatever one event
        // commits stays in the log until the next, for the caller (and a checker) to see.
        compactIfNeeded()
        var out: [GroupAction] = []
        switch event {
        case .send(let request, let user, let id, let text):
            clientSend(request: request, key: MessageKey(user: user, id: id), text: text, now: now, out: &out)
        case .readBarrier(let request):
            clientRead(request: request, now: now, out: &out)
        case .packet(let packet):
            receive(packet, now: now, out: &out)
        case .liveness(let view):
            alive = view.union([me])
            excludedByNewerLog = false
            aliveBoot = [:]
            for replica in alive.sorted() { aliveBoot[replica.node] = replica.boot }
            aliveBoot[me.node] = me.boot
            if leadership != nil { replicateToAll(now: now, out: &out) }
        case .placement(let nodes):
            placement = nodes
            // A new member of the placement is a learner: the leader starts replicating to it
            // now, or an idle room would never catch it up and hand it its place.
            if leadership != nil { replicateToAll(now: now, out: &out) }
        case .timer:
            // The caller's one timer fired (maybe a hair before the wake it was set for, by
            // another reading of the clock): ask for the next wake afresh, or a wake believed
            // pending would never come and a waiting request or campaign would wait forever.
            scheduledWake = nil
            onTimer(now: now, out: &out)
        case .recover(let request, let store, let skip):
            recover(request: request, store: store, skip: skip, now: now, out: &out)
        case .retire:
            retired = true
            stepDown(out: &out, now: now)
        case .presence(let node, let update):
            clientPresence(node: node, update, now: now, out: &out)
        }
        if leadership != nil {
            reconfigure(now: now, out: &out)
            expireRequests(now: now, out: &out)
            yieldToPreferred(now: now, out: &out)
        }
        evaluateLeadership(now: now, out: &out)
        scheduleWake(now: now, out: &out)
        return out
    }

    func send(_ message: GroupMessage, to node: String, out: inout [GroupAction]) {
        out.append(.send(to: node, GroupPacket(room: room, from: me, message: message)))
    }

    mutating func receive(_ packet: GroupPacket, now: UInt64, out: inout [GroupAction]) {
        switch packet.message {
        case .prepare(let epoch, let from, let voters):
            onPrepare(from: packet.from, epoch: epoch, tailFrom: from, candidateVoters: voters, now: now, out: &out)
        case .promise(let promise):
            onPromise(from: packet.from, promise, now: now, out: &out)
        case .append(let append):
            onAppend(from: packet.from, append, now: now, out: &out)
        case .appendReply(let reply):
            onAppendReply(from: packet.from, reply, now: now, out: &out)
        case .resign(let epoch):
            onResign(from: packet.from, epoch: epoch, now: now)
        }
    }

    mutating func onTimer(now: UInt64, out: inout [GroupAction]) {
        if leadership != nil { retransmit(now: now, out: &out) }
        if let campaign, now >= campaign.deadline {
            // Gave up: no majority promised in time. Try again after the stagger.
            self.campaign = nil
            campaignAt = now + settings.campaignStagger * UInt64(1 + rank)
        }
    }

    /// Asks for the earliest time any deadline falls due, unless an earlier timer is pending.
    mutating func scheduleWake(now: UInt64, out: inout [GroupAction]) {
        var next: UInt64?
        func consider(_ time: UInt64?) {
            guard let time else { return }
            next = min(next ?? time, time)
        }
        consider(campaignAt)
        consider(campaign?.deadline)
        if let leadership {
            consider(leadership.nextDeadline(retransmit: settings.retransmitInterval))
        }
        // When a promised candidate's grace runs out, look again (it may have failed).
        if !leaderConfirmed, leaderHint != nil, leaderHint != me, leadership == nil, promisedAt + settings.candidateGrace > now {
            consider(promisedAt + settings.candidateGrace)
        }
        guard var wake = next else { return }
        wake = max(wake, now)
        if let scheduled = scheduledWake, scheduled <= wake, scheduled >= now { return }
        scheduledWake = wake
        out.append(.schedule(at: wake))
    }
}
