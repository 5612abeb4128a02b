import ChatCore
import History
import Logging
import Metrics
import Synchronization

/// The rooms this node orders: for each, its `RoomStateMachine`, the nodes subscribed to it and
/// their sessions (presence is aggregated here from every node's reports).
///
/// Each request runs the machine and performs its actions under one lock, so the seq order,
/// the history order and the order of pushes to every subscribed node are the same. Nothing
/// under the lock blocks: history writes are queued, pushes are queued on links or local queues.
///
/// A room is loaded from the history cache the first time this node orders it (so a restarted
/// or new owner continues the room's seq); concurrent requests wait for that one load.
public final class RoomOwner: Sendable {
    final class Room: @unchecked Sendable {
        var machine: RoomStateMachine
        var subscribers: [String: any RoomSubscriber] = [:]
        /// node -> user -> sessions that node reported in this room.
        var sessions: [String: [String: UInt32]] = [:]

        init(machine: RoomStateMachine) {
            self.machine = machine
        }

        func push(_ frame: InternalFrame) {
            for subscriber in subscribers.values { subscriber.push(frame) }
        }

        func perform(_ actions: [RoomStateMachine.Action], history: any HistoryStore) -> (seq: UInt64, duplicate: Bool)? {
            var ack: (UInt64, Bool)?
            for action in actions {
                switch action {
                case .persist(let message):
                    history.append(message)
                case .deliver(let message):
                    ClusterMetrics.sequenced.increment()
                    push(.message(message))
                case .ack(_, _, let seq, let duplicate):
                    if duplicate { ClusterMetrics.duplicates.increment() }
                    ack = (seq, duplicate)
                case .presence(let event):
                    push(.presence(event))
                }
            }
            return ack
        }

        /// Sets the sessions of `user` on `node`; returns the presence changes (the caller pushes
        /// them, after any reply that must come first).
        @discardableResult
        func setSessions(node: String, user: String, count: UInt32, pushNow: Bool = true) -> [PresenceEvent] {
            let current = sessions[node]?[user] ?? 0
            var actions: [RoomStateMachine.Action] = []
            if count > current {
                for _ in current..<count { actions += machine.join(user: user) }
            } else if count < current {
                for _ in count..<current { actions += machine.leave(user: user) }
            }
            sessions[node, default: [:]][user] = count == 0 ? nil : count
            if sessions[node]?.isEmpty == true { sessions[node] = nil }
            let events = actions.compactMap { action -> PresenceEvent? in
                if case .presence(let event) = action { return event }
                return nil
            }
            if pushNow { for event in events { push(.presence(event)) } }
            return events
        }
    }

    enum Slot {
        case loading([CheckedContinuation<Void, any Error>])
        case ready(Room)
    }

    public let nodeID: String
    let configuration: RoomStateMachine.Configuration
    private let history: any HistoryStore
    private let logger: Logger
    private let now: @Sendable () -> Int64
    /// Whether this node owns `room` on its current ring. Checked under the lock on every request
    /// and before a loaded room is installed, so a request or load that was in flight when the
    /// ring changed can never bring a room back to life on a node that no longer owns it.
    private let owns: @Sendable (String) -> Bool
    private let rooms = Mutex<[String: Slot]>([:])

    public init(
        nodeID: String, configuration: RoomStateMachine.Configuration, history: any HistoryStore, logger: Logger,
        now: @escaping @Sendable () -> Int64, owns: @escaping @Sendable (String) -> Bool = { _ in true }
    ) {
        self.nodeID = nodeID
        self.configuration = configuration
        self.history = history
        self.logger = logger
        self.now = now
        self.owns = owns
    }

    // MARK: Requests

    /// A session of `user` on the subscriber's node joins. `reply` gets the snapshot under the
    /// lock, before any later push to that subscriber.
    func join(
        room name: String, user: String, since: UInt64?, subscriber: any RoomSubscriber,
        reply: (RoomSnapshot) -> Void
    ) async throws {
        try await withRoom(name) { room in
            guard subscriber.isActive else { throw ProtocolError(.unavailable, "the link closed; retry") }
            let (messages, truncated): ([ChatMessage], Bool) =
                if let since {
                    room.machine.messages(since: since)
                } else {
                    (room.machine.latest(limit: ClientFrame.defaultHistoryLimit), false)
                }
            room.subscribers[subscriber.nodeID] = subscriber
            let current = room.sessions[subscriber.nodeID]?[user] ?? 0
            let events = room.setSessions(node: subscriber.nodeID, user: user, count: current + 1, pushNow: false)
            // The joiner's `joined` comes first, then everyone (the joiner too) hears the join.
            reply(RoomSnapshot(seq: room.machine.lastSeq, messages: messages, members: room.machine.memberNames, truncated: truncated))
            for event in events { room.push(.presence(event)) }
        }
    }

    /// A session of `user` on `node` leaves. The node stays subscribed while it has sessions.
    func leave(room name: String, user: String, node: String) async throws {
        try await withRoom(name) { room in
            let current = room.sessions[node]?[user] ?? 0
            guard current > 0 else { return }
            room.setSessions(node: node, user: user, count: current - 1)
            if room.sessions[node] == nil { room.subscribers[node] = nil }
        }
    }

    /// Subscribes a node again with the sessions it has, and replies with what it missed.
    func resubscribe(
        room name: String, since: UInt64, sessions: [UserSessions], subscriber: any RoomSubscriber,
        reply: (RoomSnapshot) -> Void
    ) async throws {
        try await withRoom(name) { room in
            guard subscriber.isActive else { throw ProtocolError(.unavailable, "the link closed; retry") }
            let node = subscriber.nodeID
            room.subscribers[node] = subscriber
            var wanted: [String: UInt32] = [:]
            for session in sessions { wanted[session.user, default: 0] += session.count }
            for user in Set(wanted.keys).union(room.sessions[node]?.keys ?? [:].keys) {
                room.setSessions(node: node, user: user, count: wanted[user] ?? 0)
            }
            if room.sessions[node] == nil { room.subscribers[node] = nil }
            let missed = room.machine.messages(since: since)
            reply(
                RoomSnapshot(
                    seq: room.machine.lastSeq, messages: missed.messages, members: room.machine.memberNames, truncated: missed.truncated))
        }
    }

    /// Sequences a message (or recognises a retry).
    func send(room name: String, user: String, id: String, text: String) async throws -> (seq: UInt64, duplicate: Bool) {
        try await withRoom(name) { room in
            room.perform(room.machine.send(user: user, id: id, text: text, now: now()), history: history) ?? (0, false)
        }
    }

    /// A page of the room: the first `limit` above `since`, or the `limit` just below `before`.
    func messages(room name: String, before: UInt64?, since: UInt64?, limit: Int) async throws -> RoomSnapshot {
        try await withRoom(name) { room in
            let page =
                if let since {
                    room.machine.messages(since: since, limit: limit)
                } else {
                    (room.machine.messages(before: before, limit: limit), false)
                }
            return RoomSnapshot(seq: room.machine.lastSeq, messages: page.0, members: [], truncated: page.1)
        }
    }

    func info(room name: String) async throws -> RoomSnapshot {
        try await withRoom(name) { room in
            RoomSnapshot(seq: room.machine.lastSeq, messages: [], members: room.machine.memberNames, truncated: false)
        }
    }

    // MARK: Membership

    /// A link from `subscriber`'s node closed: stop pushing to it (its sessions stay until the
    /// node resubscribes or is declared dead).
    func unsubscribe(_ subscriber: any RoomSubscriber) {
        rooms.withLock { rooms in
            for case .ready(let room) in rooms.values where room.subscribers[subscriber.nodeID] === subscriber {
                room.subscribers[subscriber.nodeID] = nil
            }
        }
    }

    /// `node` left the cluster: its sessions leave every room (presence), it is unsubscribed.
    func nodeGone(_ node: String) {
        rooms.withLock { rooms in
            for case .ready(let room) in rooms.values {
                room.subscribers[node] = nil
                for user in room.sessions[node]?.keys.sorted() ?? [] {
                    room.setSessions(node: node, user: user, count: 0)
                }
            }
        }
    }

    /// Stops ordering every room for which `keep` is false: its subscribers are told `moved` and
    /// subscribe at the new owner, which continues the seq from the history cache.
    func release(keep: (String) -> Bool) {
        let (count, waiters) = rooms.withLock { rooms -> (Int, [CheckedContinuation<Void, any Error>]) in
            var waiters: [CheckedContinuation<Void, any Error>] = []
            for (name, slot) in rooms where !keep(name) {
                switch slot {
                case .ready(let room):
                    room.push(.moved(room: name))
                    ClusterMetrics.ownerChanges.increment()
                case .loading(let list):
                    // The loader sees the slot gone and discards what it loaded.
                    waiters += list
                }
                rooms[name] = nil
            }
            return (rooms.count, waiters)
        }
        for waiter in waiters { waiter.resume(throwing: ProtocolError(.unavailable, "the room moved to another node; retry")) }
        ClusterMetrics.rooms.record(count)
    }

    /// Rooms this node orders now.
    public var roomCount: Int { rooms.withLock { $0.count } }

    // MARK: Loading

    private func withRoom<T>(_ name: String, _ body: (Room) throws -> T) async throws -> T {
        try await ensureLoaded(name)
        return try rooms.withLock { rooms in
            guard owns(name), case .ready(let room) = rooms[name] else {
                throw ProtocolError(.unavailable, "room \(name) is moving; retry")
            }
            return try body(room)
        }
    }

    private enum LoadStep {
        case ready, wait, load
    }

    /// The first caller loads the room from the history cache; the others wait for that load. A
    /// failed load fails every waiter with `unavailable` and leaves the room unloaded.
    private func ensureLoaded(_ name: String) async throws {
        guard owns(name) else { throw ProtocolError(.unavailable, "\(nodeID) does not own \(name); retry") }
        let step: LoadStep = rooms.withLock { rooms in
            switch rooms[name] {
            case .ready: return .ready
            case .loading: return .wait
            case nil:
                rooms[name] = .loading([])
                return .load
            }
        }
        switch step {
        case .ready:
            return
        case .wait:
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let immediate: Result<Void, any Error>? = rooms.withLock { rooms in
                    switch rooms[name] {
                    case .loading(var waiters):
                        waiters.append(continuation)
                        rooms[name] = .loading(waiters)
                        return nil
                    case .ready: return .success(())
                    case nil: return .failure(ProtocolError(.unavailable, "room \(name) could not be loaded; retry"))
                    }
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        case .load:
            let result: Result<Room, any Error>
            do {
                let messages = try await history.load(room: name, limit: configuration.logCapacity)
                result = .success(Room(machine: RoomStateMachine(room: name, configuration: configuration, restoring: messages)))
            } catch {
                result = .failure(error)
            }
            let (waiters, count, installed) = rooms.withLock { rooms in
                // Install only if the slot is still ours (not released meanwhile) and we still own the room.
                guard case .loading(let waiters) = rooms[name] else {
                    return ([CheckedContinuation<Void, any Error>](), rooms.count, false)
                }
                if case .success(let room) = result, owns(name) {
                    rooms[name] = .ready(room)
                    return (waiters, rooms.count, true)
                }
                rooms[name] = nil
                return (waiters, rooms.count, false)
            }
            ClusterMetrics.rooms.record(count)
            switch result {
            case .success where installed:
                for waiter in waiters { waiter.resume() }
            case .success:
                let moved = ProtocolError(.unavailable, "room \(name) moved while it loaded; retry")
                for waiter in waiters { waiter.resume(throwing: moved) }
                throw moved
            case .failure(let error):
                ClusterMetrics.roomLoadFailures.increment()
                logger.error("cannot load room \(name): \(error)")
                let failure = ProtocolError(.unavailable, "history of room \(name) is unavailable; retry")
                for waiter in waiters { waiter.resume(throwing: failure) }
                throw failure
            }
        }
    }
}
