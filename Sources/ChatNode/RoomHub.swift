import ChatCore
import History
import Logging
import Metrics
import NIOCore
import Synchronization

/// The rooms this node owns, and the clients on this node that are subscribed to them.
///
/// Each room's order comes from its `RoomStateMachine`; the hub runs the machine's events under
/// one lock and performs its actions there too, so that the seq order, the history order and the
/// order of frames in every client's queue are the same. Nothing under the lock blocks: history
/// writes are queued and client frames go into bounded queues.
///
/// A room is loaded from the history store the first time it is used (so a restarted node
/// continues the room's seq); while it loads, other requests for it wait for the same load.
final class RoomHub: Sendable {
    /// One room's owner state and its local subscribers. Only touched under `rooms`' lock.
    final class Room: @unchecked Sendable {
        var machine: RoomStateMachine
        var subscribers: [UInt64: (connection: ClientConnection, user: String)] = [:]

        init(machine: RoomStateMachine) {
            self.machine = machine
        }
    }

    enum Slot {
        case loading([CheckedContinuation<Void, any Error>])
        case ready(Room)
    }

    let nodeID: String
    let roomConfiguration: RoomStateMachine.Configuration
    private let history: any HistoryStore
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private let rooms = Mutex<[String: Slot]>([:])

    private let sequenced = Counter(label: "chat_messages_sequenced_total")
    private let duplicates = Counter(label: "chat_messages_duplicate_total")
    private let delivered = Counter(label: "chat_messages_delivered_total")
    private let roomLoadFailures = Counter(label: "chat_room_load_failures_total")
    private let roomsGauge = Gauge(label: "chat_rooms")

    init(
        nodeID: String,
        roomConfiguration: RoomStateMachine.Configuration,
        history: any HistoryStore,
        logger: Logger,
        now: @escaping @Sendable () -> Int64
    ) {
        self.nodeID = nodeID
        self.roomConfiguration = roomConfiguration
        self.history = history
        self.logger = logger
        self.now = now
    }

    // MARK: Operations

    /// Subscribes `connection` to `room` as `user`. Queues `joined` (when `announce`) with the
    /// history the client asked for, then tells the room about a new member. Snapshot and
    /// subscription happen under one lock, so no message falls between them.
    func join(
        room name: String, connection: ClientConnection, user: String, since: UInt64?, ref: JSONValue?,
        announce: Bool = true
    ) async throws {
        try await withRoom(name) { room in
            if announce {
                let (history, truncated): ([ChatMessage], Bool) =
                    if let since {
                        room.machine.messages(since: since)
                    } else {
                        (room.machine.latest(limit: ClientFrame.defaultHistoryLimit), false)
                    }
                let actions = room.machine.join(user: user)
                room.subscribers[connection.id] = (connection, user)
                connection.send(
                    .joined(
                        room: name, ref: ref, seq: room.machine.lastSeq, history: history,
                        members: room.machine.memberNames, truncated: truncated))
                perform(actions, in: room)
            } else {
                let actions = room.machine.join(user: user)
                room.subscribers[connection.id] = (connection, user)
                perform(actions, in: room)
            }
        }
    }

    /// Sequences a message (or recognises a retry) and returns its seq.
    func send(room name: String, user: String, id: String, text: String) async throws -> (seq: UInt64, duplicate: Bool) {
        try await withRoom(name) { room in
            let actions = room.machine.send(user: user, id: id, text: text, now: now())
            return perform(actions, in: room) ?? (0, false)
        }
    }

    /// Unsubscribes `connection` from `room`; false when it was not subscribed.
    func leave(room name: String, connection: ClientConnection) -> Bool {
        rooms.withLock { rooms in
            guard case .ready(let room) = rooms[name],
                let subscriber = room.subscribers.removeValue(forKey: connection.id)
            else { return false }
            perform(room.machine.leave(user: subscriber.user), in: room)
            return true
        }
    }

    /// The `limit` messages just below `before` (the latest without it), oldest first.
    func messages(room name: String, before: UInt64?, limit: Int) async throws -> [ChatMessage] {
        try await withRoom(name) { $0.machine.messages(before: before, limit: limit) }
    }

    /// The first `limit` messages above `since`, oldest first.
    func messages(room name: String, since: UInt64, limit: Int) async throws -> [ChatMessage] {
        try await withRoom(name) { $0.machine.messages(since: since, limit: limit).messages }
    }

    /// The room's latest seq and its members.
    func info(room name: String) async throws -> (seq: UInt64, members: [String]) {
        try await withRoom(name) { ($0.machine.lastSeq, $0.machine.memberNames) }
    }

    /// Number of rooms loaded on this node.
    var roomCount: Int { rooms.withLock { $0.count } }

    // MARK: Internals

    /// Performs the machine's actions under the lock. Returns the ack, if there was one.
    @discardableResult
    private func perform(_ actions: [RoomStateMachine.Action], in room: Room) -> (seq: UInt64, duplicate: Bool)? {
        var ack: (UInt64, Bool)?
        for action in actions {
            switch action {
            case .persist(let message):
                history.append(message)
            case .deliver(let message):
                sequenced.increment()
                fanOut(message, to: room)
            case .ack(_, _, let seq, let duplicate):
                if duplicate { duplicates.increment() }
                ack = (seq, duplicate)
            case .presence(let event):
                var writer = JSONWriter()
                ServerFrame.presence(event).write(into: &writer)
                let buffer = ByteBuffer(bytes: writer.bytes)
                for subscriber in room.subscribers.values where subscriber.connection.format == .json {
                    subscriber.connection.enqueue(buffer)
                }
            }
        }
        return ack
    }

    /// Encodes the message once per format and queues the same bytes for every subscriber.
    private func fanOut(_ message: ChatMessage, to room: Room) {
        var json: ByteBuffer?
        var seed: ByteBuffer?
        for subscriber in room.subscribers.values {
            switch subscriber.connection.format {
            case .json:
                if json == nil {
                    var writer = JSONWriter(capacity: 96 + message.text.utf8.count)
                    ServerFrame.message(message).write(into: &writer)
                    json = ByteBuffer(bytes: writer.bytes)
                }
                subscriber.connection.enqueue(json!)
            case .seed:
                if seed == nil { seed = ByteBuffer(string: SeedFormat.line(for: message)) }
                subscriber.connection.enqueue(seed!)
            }
        }
        delivered.increment(by: room.subscribers.count)
    }

    /// Runs `body` on the loaded room under the lock, loading it first if needed.
    private func withRoom<T>(_ name: String, _ body: (Room) throws -> T) async throws -> T {
        try await ensureLoaded(name)
        return try rooms.withLock { rooms in
            guard case .ready(let room) = rooms[name] else {
                throw ProtocolError(.unavailable, "room \(name) is not available; retry")
            }
            return try body(room)
        }
    }

    private enum LoadStep {
        case ready, wait, load
    }

    /// Makes sure the room is in memory: the first caller loads it from history, the others wait.
    /// A failed load fails every waiter with `unavailable` and leaves the room unloaded, so the
    /// next request tries again.
    private func ensureLoaded(_ name: String) async throws {
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
            do {
                let messages = try await history.load(room: name, limit: roomConfiguration.logCapacity)
                let room = Room(machine: RoomStateMachine(room: name, configuration: roomConfiguration, restoring: messages))
                let (waiters, count) = rooms.withLock { rooms in
                    var waiters: [CheckedContinuation<Void, any Error>] = []
                    if case .loading(let list) = rooms[name] { waiters = list }
                    rooms[name] = .ready(room)
                    return (waiters, rooms.count)
                }
                roomsGauge.record(count)
                for waiter in waiters { waiter.resume() }
            } catch {
                roomLoadFailures.increment()
                logger.error("cannot load room \(name): \(error)")
                let waiters = rooms.withLock { rooms in
                    var waiters: [CheckedContinuation<Void, any Error>] = []
                    if case .loading(let list) = rooms[name] { waiters = list }
                    rooms[name] = nil
                    return waiters
                }
                let failure = ProtocolError(.unavailable, "history of room \(name) is unavailable; retry")
                for waiter in waiters { waiter.resume(throwing: failure) }
                throw failure
            }
        }
    }
}
