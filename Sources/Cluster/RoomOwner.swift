import ChatCore
import History
import Logging
import Metrics
import Ring
import Synchronization

/// The rooms this node orders (`OwnedRoom`) and the rooms it holds for others (`ReplicaRoom`:
/// replicas as a successor, and rooms it sealed and handed off).
///
/// Each request runs the room's machine and performs its actions under one lock, so the seq
/// order, the history order and the order of pushes to every subscribed node are the same.
/// Nothing under the lock blocks: history writes are queued, pushes are queued on links or
/// local queues, replication is sent by a task per room (one request in flight at a time).
///
/// A message commits (is delivered, persisted and acked) only once the room's successor holds it
/// (`ReplicationState`, `ReplicaRules`). A node starts ordering a room only through
/// `ClaimResolver`: a hand-off from the old owner, the promotion of a replica whose owner is gone,
/// or a load from the history cache when no node holds the room.
public final class RoomOwner: Sendable {
    enum Slot {
        /// Being taken over; requests wait. Keeps the replica this node held, if any.
        case loading([CheckedContinuation<Void, any Error>], replica: ReplicaRoom?)
        case ready(OwnedRoom)
        case replica(ReplicaRoom)
    }

    /// A replication request produced under the lock, sent after it.
    struct Dispatch {
        let room: OwnedRoom
        let node: String
        let request: ReplicationRequest
        /// The last seq the request covers.
        let through: UInt64
        /// The room's replication generation when it was sent.
        let generation: UInt64
    }

    public let nodeID: String
    let configuration: RoomStateMachine.Configuration
    let history: any HistoryStore
    let logger: Logger
    let now: @Sendable () -> Int64
    let ringView: RingView
    let peers: any RoomPeers
    /// The boot id of a member's current process ("" when unknown).
    let bootOf: @Sendable (String) -> String
    let rooms = Mutex<[String: Slot]>([:])
    /// False until the node has joined the cluster, and again once it is leaving: a node that
    /// does not know the other members yet must not believe it owns everything.
    let active = Atomic<Bool>(true)
    let leaving = Atomic<Bool>(false)

    init(
        nodeID: String, configuration: RoomStateMachine.Configuration, history: any HistoryStore, logger: Logger,
        now: @escaping @Sendable () -> Int64, ring: RingView, peers: any RoomPeers,
        bootOf: @escaping @Sendable (String) -> String = { _ in "" }
    ) {
        self.bootOf = bootOf
        self.nodeID = nodeID
        self.configuration = configuration
        self.history = history
        self.logger = logger
        self.now = now
        self.ringView = ring
        self.peers = peers
    }

    /// Whether this node orders `room` now: it is active and the room's owner on its ring.
    func owns(_ room: String) -> Bool {
        active.load(ordering: .relaxed) && !leaving.load(ordering: .relaxed) && ringView.owner(of: room) == nodeID
    }

    /// The room's successor: the next distinct node of its preference list (nil when alone).
    func successor(of room: String) -> String? {
        ringView.current.preferenceList(of: room, count: 2).first { $0 != nodeID }
    }

    // MARK: Requests

    /// A session of `user` on the subscriber's node joins. `reply` gets the snapshot under the
    /// lock, before any later push to that subscriber, once the read barrier passed (`read`).
    func join(
        room name: String, user: String, since: UInt64?, subscriber: any RoomSubscriber,
        reply: @escaping @Sendable (RoomSnapshot) -> Void
    ) async throws {
        try await read(name) { room in
            try self.checkCurrent(subscriber, in: room)
            room.join(user: user, since: since, subscriber: subscriber, reply: reply)
        }
    }

    /// A session of `user` on `node` leaves. The node stays subscribed while it has sessions.
    func leave(room name: String, user: String, node: String) async throws {
        try await withRoom(name) { room in room.leave(user: user, node: node) }
    }

    /// Subscribes a node again with the sessions it has, and replies with what it missed (after
    /// the read barrier, like `join`).
    func resubscribe(
        room name: String, since: UInt64, sessions: [UserSessions], subscriber: any RoomSubscriber,
        reply: @escaping @Sendable (RoomSnapshot) -> Void
    ) async throws {
        try await read(name) { room in
            try self.checkCurrent(subscriber, in: room)
            room.resubscribe(since: since, sessions: sessions, subscriber: subscriber, reply: reply)
        }
    }

    /// Sequences a message (or recognises a retry) and returns once it is committed: held by
    /// the room's successor (or, alone on the ring, by this node).
    func send(room name: String, user: String, id: String, text: String) async throws -> (seq: UInt64, duplicate: Bool) {
        try await ensureReady(name)
        return try await withCheckedThrowingContinuation { (waiter: OwnedRoom.Waiter) in
            let (immediate, dispatch) = rooms.withLock { rooms -> (Result<(seq: UInt64, duplicate: Bool), any Error>?, Dispatch?) in
                guard owns(name), case .ready(let room) = rooms[name] else {
                    return (.failure(ProtocolError(.unavailable, "room \(name) is moving; retry")), nil)
                }
                for action in room.machine.send(user: user, id: id, text: text, now: now()) {
                    switch action {
                    case .ack(_, _, let seq, _):
                        ClusterMetrics.duplicates.increment()
                        return (.success((seq, true)), nil)
                    case .awaitCommit(_, _, let seq):
                        room.waiters[seq, default: []].append((waiter, true))
                    case .replicate(let message):
                        room.waiters[message.seq, default: []].append((waiter, false))
                    default:
                        break
                    }
                }
                return (nil, nextReplication(room))
            }
            if let immediate { waiter.resume(with: immediate) }
            if let dispatch { send(dispatch) }
        }
    }

    /// A page of the room: the first `limit` above `since`, or the `limit` just below `before`.
    func messages(room name: String, before: UInt64?, since: UInt64?, limit: Int) async throws -> RoomSnapshot {
        try await read(name) { room in room.page(before: before, since: since, limit: limit) }
    }

    func info(room name: String) async throws -> RoomSnapshot {
        try await read(name) { room in room.snapshot(messages: [], truncated: false) }
    }

    /// See `OwnedRoom.checkCurrent`.
    func checkCurrent(_ subscriber: any RoomSubscriber, in room: OwnedRoom) throws {
        try room.checkCurrent(subscriber, currentBoot: bootOf(subscriber.nodeID))
    }

    /// Rooms this node orders now.
    public var roomCount: Int {
        rooms.withLock { rooms in rooms.values.count { if case .ready = $0 { true } else { false } } }
    }

    /// Rooms this node holds for others (replicas and sealed rooms).
    public var replicaCount: Int {
        rooms.withLock { rooms in rooms.values.count { if case .replica = $0 { true } else { false } } }
    }

    /// Runs `body` on the room (taking it over first if needed) under the lock, then sends the
    /// replication its changes need (presence travels to the successor too).
    func withRoom<T>(_ name: String, _ body: (OwnedRoom) throws -> T) async throws -> T {
        try await ensureReady(name)
        let (result, dispatch) = try rooms.withLock { rooms -> (T, Dispatch?) in
            guard owns(name), case .ready(let room) = rooms[name] else {
                throw ProtocolError(.unavailable, "room \(name) is moving; retry")
            }
            return (try body(room), nextReplication(room))
        }
        if let dispatch { send(dispatch) }
        return result
    }
}

extension RoomOwner {
    /// Runs `body` on the room under the lock once the **read barrier** passed: the room's
    /// successor acked a replication request sent after this read arrived, under the room's
    /// epoch (an empty append when nothing else is due). A node that was paused or cut off
    /// while its room failed over still believes it orders the room, and its state is behind;
    /// the successor refuses it (`ReplicaRules`), the room is sealed here and the read fails
    /// with `unavailable` (the caller retries at the room's real owner), so a stale owner never
    /// answers a join, a resubscribe or a page. This is the check a write gets (an ack needs the
    /// successor too), paid once per batch of reads; alone on its ring a node answers at once.
    /// Then the room's changes (sessions) are replicated as usual.
    func read<T: Sendable>(_ name: String, _ body: @escaping @Sendable (OwnedRoom) throws -> T) async throws -> T {
        try await ensureReady(name)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let (refusal, dispatch) = rooms.withLock { rooms -> (ProtocolError?, Dispatch?) in
                guard owns(name), case .ready(let room) = rooms[name] else {
                    return (ProtocolError(.unavailable, "room \(name) is moving; retry"), nil)
                }
                room.reads.append(
                    OwnedRoom.PendingRead(
                        after: room.replication.generation,
                        answer: { continuation.resume(with: Result { try body(room) }) },
                        fail: { continuation.resume(throwing: $0) }))
                room.replication.readRequested()
                return (nil, nextReplication(room))
            }
            if let refusal { continuation.resume(throwing: refusal) }
            if let dispatch { send(dispatch) }
        }
    }
}

extension OwnedRoom {
    func snapshot(messages: [ChatMessage], truncated: Bool, members: Bool = true) -> RoomSnapshot {
        RoomSnapshot(
            seq: machine.committedSeq, messages: messages, members: members ? machine.memberNames : [], truncated: truncated)
    }
}
