import Metrics
import NIOCore
import RoomGroup

/// Runs this node's replicas of room groups (`RoomGroup`) on one event loop: every event of every
/// room is handled there, in the order it arrived, and the actions are carried out through the
/// injected `Sinks`. It holds no protocol rule (those are all in `RoomGroup`); it only turns
/// requests into events with request ids, keeps the promises those ids answer, and keeps one
/// timer per room at the earliest time its group asked for.
///
/// Time is the event loop's monotonic clock (`NIODeadline`), in nanoseconds, as the groups'
/// settings expect.
public final class GroupHost: Sendable {
    /// Where the actions go. Each is called on the host's event loop, in action order.
    public struct Sinks: Sendable {
        /// Packets for another replica's node (one write on the internal link to `node`): all
        /// that every room of this host had for that node in one event-loop tick, in order.
        public var send: @Sendable (_ node: String, _ packets: [GroupPacket]) -> Void
        /// What this replica reports committed, in seq order: messages, gaps to read from the
        /// history store, and seqs lost in a recovery.
        public var deliver: @Sendable (_ room: String, _ delivery: GroupDelivery) -> Void
        /// Committed messages this replica, as leader, writes to the history store.
        public var persist: @Sendable (_ room: String, _ messages: [GroupChatMessage]) -> Void
        /// This replica started (true) or stopped (false) leading the room; called after the
        /// event's other actions.
        public var leading: @Sendable (_ room: String, _ leads: Bool) -> Void

        public init(
            send: @escaping @Sendable (String, [GroupPacket]) -> Void,
            deliver: @escaping @Sendable (String, GroupDelivery) -> Void,
            persist: @escaping @Sendable (String, [GroupChatMessage]) -> Void,
            leading: @escaping @Sendable (String, Bool) -> Void = { _, _ in }
        ) {
            self.send = send
            self.deliver = deliver
            self.persist = persist
            self.leading = leading
        }
    }

    struct State {
        var groups: [String: RoomGroup] = [:]
        var waiting: [UInt64: EventLoopPromise<GroupReply>] = [:]
        var nextRequest: UInt64 = 1
        var timers: [String: (at: UInt64, task: Scheduled<Void>)] = [:]
        var view: Set<ReplicaID> = []
        var placements: [String: [String]] = [:]
        var closed = false
        /// Packets waiting for the end of this tick, by node, and the order nodes were first
        /// written to (so the flush is deterministic).
        var outbox: [String: [GroupPacket]] = [:]
        var outboxOrder: [String] = []
    }

    public let me: ReplicaID
    public let eventLoop: any EventLoop
    let settings: GroupSettings
    let sinks: Sinks
    private let state: NIOLoopBoundBox<State>

    /// The placement of a room this host learns of from a packet (nil: only `open` and
    /// `placement` give placements).
    let placementOf: (@Sendable (String) -> [String])?

    public init(
        me: ReplicaID, eventLoop: any EventLoop, settings: GroupSettings = .init(),
        placementOf: (@Sendable (String) -> [String])? = nil, sinks: Sinks
    ) {
        self.me = me
        self.eventLoop = eventLoop
        self.settings = settings
        self.placementOf = placementOf
        self.sinks = sinks
        state = NIOLoopBoundBox.makeBoxSendingValue(State(), eventLoop: eventLoop)
    }

    static var now: UInt64 { NIODeadline.now().uptimeNanoseconds }

    // MARK: Requests

    /// Creates this node's replica of `room` if it has none. `genesis` is given only by the
    /// nodes that create the room (the same on each); others start empty and learn it.
    /// `stored`: what the history store holds of a room no replica holds any more.
    public func open(_ room: String, genesis: GroupConfig?, stored: [GroupChatMessage] = [], placement: [String]) {
        eventLoop.execute {
            self.state.value.placements[room] = placement
            // A new group gets the placement as it is created; an existing one hears the change.
            guard self.state.value.groups[room] != nil else { return self.ensure(room, genesis: genesis, stored: stored) }
            self.handle(room, .placement(placement))
        }
    }

    /// The roster changed: every group whose placement (`placementOf`) changed hears it.
    public func rosterChanged() {
        guard let placementOf else { return }
        eventLoop.execute {
            for room in self.state.value.groups.keys.sorted() {
                let placement = placementOf(room)
                guard self.state.value.placements[room] != placement else { continue }
                self.state.value.placements[room] = placement
                self.handle(room, .placement(placement))
            }
        }
    }

    /// Whether this host holds a replica of `room` with anything in its log.
    public func holds(_ room: String) -> EventLoopFuture<Bool> {
        eventLoop.submit { self.state.value.groups[room]?.holdsLog ?? false }
    }

    /// How many replicas this host holds.
    public func replicaCount() -> EventLoopFuture<Int> {
        eventLoop.submit { self.state.value.groups.count }
    }

    /// Whether this host has a replica of `room` (empty or not).
    public func hasReplica(_ room: String) -> EventLoopFuture<Bool> {
        eventLoop.submit { self.state.value.groups[room] != nil }
    }

    /// The leader `room`'s replica here knows of (itself when it leads); on the event loop only.
    public func knownLeader(_ room: String) -> String? {
        eventLoop.preconditionInEventLoop()
        return state.value.groups[room]?.knownLeader
    }

    /// Whether this host's replica of `room` holds anything (nil: no replica); on the event loop only.
    public func holdsLog(_ room: String) -> Bool? {
        eventLoop.preconditionInEventLoop()
        return state.value.groups[room]?.holdsLog
    }

    /// Whether this replica leads `room`; on the event loop only.
    public func leads(_ room: String) -> Bool {
        eventLoop.preconditionInEventLoop()
        return state.value.groups[room]?.isLeader ?? false
    }

    /// Every room this host holds a replica of, with its status (for `/cluster` and operators).
    public func statuses() -> EventLoopFuture<[String: GroupStatus]> {
        eventLoop.submit { self.state.value.groups.mapValues(\.status) }
    }

    /// Retires every replica (a graceful shutdown): leaders step down, so that the next live
    /// voter takes over without waiting for gossip to declare this node dead, and none campaigns.
    public func resignAll() -> EventLoopFuture<Void> {
        eventLoop.submit {
            for room in self.state.value.groups.keys.sorted() {
                self.handle(room, .retire)
            }
        }
    }

    /// Sends a message; the answer is the group's (`acked`, `duplicate`, `unavailable`, …).
    public func send(room: String, user: String, id: String, text: String) -> EventLoopFuture<GroupReply> {
        request(room) { .send(request: $0, user: user, id: id, text: text) }
    }

    /// A read barrier: `readable(seq)` once a majority confirmed this replica leads.
    public func readBarrier(room: String) -> EventLoopFuture<GroupReply> {
        request(room) { .readBarrier(request: $0) }
    }

    /// `node`'s users in `room` changed; the leader logs the difference (no answer: it takes
    /// effect for clients when it commits).
    public func presence(room: String, node: String, _ update: PresenceUpdate) {
        eventLoop.execute {
            guard !self.state.value.closed, self.state.value.groups[room] != nil else { return }
            self.handle(room, .presence(node: node, update))
        }
    }

    /// `chat-node rooms recover`: rebuilds a group that lost its majority from this replica.
    public func recover(room: String, store: [GroupChatMessage], skip: UInt64) -> EventLoopFuture<GroupReply> {
        request(room) { .recover(request: $0, store: store, skip: skip) }
    }

    /// What this replica says about `room`, nil if it holds none.
    public func status(room: String) -> EventLoopFuture<GroupStatus?> {
        eventLoop.submit { self.state.value.groups[room]?.status }
    }

    // MARK: Inputs from links and gossip

    /// Packets from another replica's node, handled in order (a packet for a room this node
    /// holds no replica of yet creates an empty one: a new member learns the room from its leader).
    public func receive(_ packets: [GroupPacket]) {
        eventLoop.execute {
            guard !self.state.value.closed else { return }
            for packet in packets {
                self.ensure(packet.room, genesis: nil)
                self.handle(packet.room, .packet(packet))
            }
        }
    }

    /// Gossip's view: the incarnations it believes alive. Every group hears it.
    public func liveness(_ view: Set<ReplicaID>) {
        eventLoop.execute {
            self.state.value.view = view
            for room in self.state.value.groups.keys.sorted() { self.handle(room, .liveness(view)) }
        }
    }

    /// A room's placement changed (the roster changed).
    public func placement(room: String, _ nodes: [String]) {
        eventLoop.execute {
            self.state.value.placements[room] = nodes
            guard self.state.value.groups[room] != nil else { return }
            self.handle(room, .placement(nodes))
        }
    }

    /// Stops every timer and answers every waiting request `unavailable`.
    public func close() -> EventLoopFuture<Void> {
        eventLoop.submit {
            self.state.value.closed = true
            for (_, timer) in self.state.value.timers { timer.task.cancel() }
            self.state.value.timers = [:]
            let waiting = self.state.value.waiting
            self.state.value.waiting = [:]
            for (_, promise) in waiting { promise.succeed(.unavailable) }
        }
    }

    // MARK: On the event loop

    private func request(_ room: String, _ event: @escaping @Sendable (UInt64) -> GroupEvent) -> EventLoopFuture<GroupReply> {
        let promise = eventLoop.makePromise(of: GroupReply.self)
        eventLoop.execute {
            guard !self.state.value.closed, self.state.value.groups[room] != nil else {
                return promise.succeed(.unavailable)
            }
            let id = self.state.value.nextRequest
            self.state.value.nextRequest += 1
            self.state.value.waiting[id] = promise
            self.handle(room, event(id))
            // A backstop: the group answers every request within its own timeout; should a
            // request ever be left unanswered, the caller hears `unavailable` and retries.
            guard self.state.value.waiting[id] != nil else { return }
            self.eventLoop.scheduleTask(in: .nanoseconds(Int64(self.settings.requestTimeout)) * 3) {
                self.state.value.waiting.removeValue(forKey: id)?.succeed(.unavailable)
            }
        }
        return promise.futureResult
    }

    private func ensure(_ room: String, genesis: GroupConfig?, stored: [GroupChatMessage] = []) {
        guard state.value.groups[room] == nil else { return }
        var group = RoomGroup(room: room, me: me, genesis: genesis, stored: stored, settings: settings)
        var ignored: [GroupAction] = []
        ignored += group.handle(.liveness(state.value.view), now: Self.now)
        if state.value.placements[room] == nil, let placementOf { state.value.placements[room] = placementOf(room) }
        if let placement = state.value.placements[room] { ignored += group.handle(.placement(placement), now: Self.now) }
        state.value.groups[room] = group
        perform(ignored, room: room)
    }

    private func handle(_ room: String, _ event: GroupEvent) {
        let led = state.value.groups[room]?.isLeader ?? false
        // Mutated in place: a copy would share the log's storage and copy it on every append.
        guard let actions = state.value.groups[room]?.handle(event, now: Self.now) else { return }
        perform(actions, room: room)
        let leads = state.value.groups[room]?.isLeader ?? false
        if leads != led { sinks.leading(room, leads) }
    }

    private func perform(_ actions: [GroupAction], room: String) {
        for action in actions {
            switch action {
            case .send(let node, let packet):
                enqueue(packet, to: node)
            case .commit(let messages):
                if state.value.groups[room]?.isLeader == true { ClusterMetrics.sequenced.increment(by: messages.count) }
                sinks.deliver(room, .messages(messages))
            case .gap(let after, let through):
                sinks.deliver(room, .gap(afterSeq: after, throughSeq: through))
            case .lost(let after, let through):
                sinks.deliver(room, .lost(afterSeq: after, throughSeq: through))
            case .presence(let changes):
                sinks.deliver(room, .presence(changes))
            case .presenceTable(let table):
                sinks.deliver(room, .presenceTable(table))
            case .persist(let messages):
                sinks.persist(room, messages)
            case .reply(let request, let reply):
                state.value.waiting.removeValue(forKey: request)?.succeed(reply)
            case .schedule(let at):
                schedule(room, at: at)
            }
        }
    }

    /// Queues a packet for `node`; the first packet of a tick schedules the flush, which runs
    /// after everything already queued on the event loop (every room's events of this tick).
    private func enqueue(_ packet: GroupPacket, to node: String) {
        if state.value.outbox[node] == nil {
            if state.value.outboxOrder.isEmpty { eventLoop.execute { self.flush() } }
            state.value.outboxOrder.append(node)
        }
        state.value.outbox[node, default: []].append(packet)
    }

    private func flush() {
        let order = state.value.outboxOrder
        let outbox = state.value.outbox
        state.value.outboxOrder = []
        state.value.outbox = [:]
        for node in order { if let packets = outbox[node] { sinks.send(node, packets) } }
    }

    /// Keeps one timer per room, at the earliest time asked for (an early or extra `.timer` is
    /// harmless to a group, a missing one is not).
    private func schedule(_ room: String, at: UInt64) {
        guard !state.value.closed else { return }
        if let current = state.value.timers[room], current.at <= at, current.at >= Self.now { return }
        state.value.timers[room]?.task.cancel()
        let task = eventLoop.scheduleTask(deadline: .uptimeNanoseconds(at)) {
            self.state.value.timers[room] = nil
            self.handle(room, .timer)
        }
        state.value.timers[room] = (at, task)
    }
}

/// What a replica reports committed, in seq order (`GroupHost.Sinks.deliver`).
public enum GroupDelivery: Sendable, Hashable {
    case messages([GroupChatMessage])
    /// Committed, but received only in a snapshot: read them from the history store.
    case gap(afterSeq: UInt64, throughSeq: UInt64)
    /// Skipped by a recovery: these seqs will never name a message.
    case lost(afterSeq: UInt64, throughSeq: UInt64)
    /// Committed presence changes (`PresenceTable`), in log order with the messages.
    case presence([PresenceChange])
    /// Presence as a snapshot this replica installed says (replaces what it had).
    case presenceTable(PresenceTable)
}
