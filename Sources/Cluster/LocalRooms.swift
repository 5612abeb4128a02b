import ChatCore
import Metrics
import NIOCore
import Synchronization

/// The subscriber side of this node: which local client connections are in which room, what
/// this node has delivered in each room, and at which owner it is subscribed.
///
/// Every message of a room reaches this node once (from the room's owner, over one link) and is
/// encoded here once per client format; the same bytes are then written to every local socket,
/// with one task per event loop (not per socket) carrying them to that loop's sockets.
/// `lastSeq` makes delivery idempotent: a message at or below it (seen again after a
/// resubscribe) is dropped, so clients never see a seq twice.
public final class LocalRooms: Sendable {
    struct Member {
        var connection: ClientConnection
        var user: String
    }

    /// The room's connections served by one event loop.
    struct LoopMembers {
        let loop: any EventLoop
        var connections: [ClientConnection]
    }

    final class Room: @unchecked Sendable {
        var members: [UInt64: Member] = [:]
        /// The same connections, grouped by event loop.
        var loops: [LoopMembers] = []
        var seedMembers = 0
        /// The highest seq delivered to this node's clients.
        var lastSeq: UInt64 = 0
        /// Connections whose `joined` already covered messages above `lastSeq` (connection id ->
        /// the `joined.seq` it got): they joined at an owner this room was not subscribed at yet,
        /// and must not get those messages again when the room catches up (see `add`).
        var floors: [UInt64: UInt64] = [:]
        /// The node whose link this room's traffic comes over (nil while none).
        var owner: String?
        /// The room's members as this node last heard from the owner (snapshots and presence):
        /// when the room is subscribed again at a new owner, the difference is told to the local
        /// clients as presence (the users of a dead node leave).
        var presence: Set<String> = []

        func insert(_ connection: ClientConnection, user: String) {
            guard members.updateValue(Member(connection: connection, user: user), forKey: connection.id) == nil else { return }
            if connection.format == .seed { seedMembers += 1 }
            let loop = ObjectIdentifier(connection.eventLoop)
            if let index = loops.firstIndex(where: { ObjectIdentifier($0.loop) == loop }) {
                loops[index].connections.append(connection)
            } else {
                loops.append(LoopMembers(loop: connection.eventLoop, connections: [connection]))
            }
        }

        func remove(_ id: UInt64) -> Bool {
            guard let member = members.removeValue(forKey: id) else { return false }
            floors[id] = nil
            if member.connection.format == .seed { seedMembers -= 1 }
            for index in loops.indices { loops[index].connections.removeAll { $0.id == id } }
            loops.removeAll { $0.connections.isEmpty }
            return true
        }

        /// Writes `json` (protocol v1 clients) or `seed` (seed-route clients; nil: none get it) to
        /// every connection but those in `skipping`: one task per event loop, run in place when
        /// already on that loop.
        func write(json: ByteBuffer, seed: ByteBuffer?, skipping: Set<UInt64> = []) {
            for group in loops {
                let connections = skipping.isEmpty ? group.connections : group.connections.filter { !skipping.contains($0.id) }
                let work: @Sendable () -> Void = {
                    for connection in connections {
                        switch connection.format {
                        case .json: connection.writeOnLoop(json)
                        case .seed: if let seed { connection.writeOnLoop(seed) }
                        }
                    }
                }
                if group.loop.inEventLoop { work() } else { group.loop.execute(work) }
            }
        }
    }

    private let rooms = Mutex<[String: Room]>([:])

    public init() {}

    /// Adds a connection to a room after the owner accepted the join, queueing `joined` first.
    /// Called in the owner's order (under its lock, or from the link in frame order).
    ///
    /// A room with no other local member takes the snapshot as its state: it is subscribed at
    /// `owner` from `snapshot.seq` on. A room that already has members keeps its own state, and
    /// the rule is: **a `joined` never moves the room's `lastSeq`**. Where the snapshot is ahead
    /// of what the room delivered (the join reached an owner the room is not subscribed at yet:
    /// a restarted or new owner, while the room's resubscribe is pending), the other members
    /// still need those messages live. The room then stays (or becomes) unsubscribed, so it
    /// subscribes again from its `lastSeq` and delivers what it missed, and the new connection
    /// skips the messages its `joined` already covered (`floors`). Returns false when the room
    /// needs that resubscribe (the caller signals it).
    @discardableResult
    func add(
        connection: ClientConnection, user: String, room name: String, owner: String, snapshot: RoomSnapshot,
        joined: ServerFrame?
    ) -> Bool {
        rooms.withLock { rooms in
            let room = rooms[name] ?? Room()
            rooms[name] = room
            let alone = room.members.isEmpty
            room.insert(connection, user: user)
            if let joined { connection.send(joined) }
            if alone {
                room.lastSeq = snapshot.seq
                room.owner = owner
                room.presence = Set(snapshot.members)
                return true
            }
            if snapshot.seq > room.lastSeq {
                room.floors[connection.id] = snapshot.seq
                room.owner = nil
            }
            return room.owner == owner
        }
    }

    /// Removes a connection from a room; returns false when it was not in it.
    func remove(connection: ClientConnection, room name: String) -> Bool {
        rooms.withLock { rooms in
            guard let room = rooms[name], room.remove(connection.id) else { return false }
            if room.members.isEmpty { rooms[name] = nil }
            return true
        }
    }

    /// Delivers a message to the room's local clients, once, in seq order. Only the node this
    /// room is subscribed at may deliver (`from`): a stale owner's late push is dropped.
    func deliver(_ message: ChatMessage, from owner: String) {
        rooms.withLock { rooms in
            guard let room = rooms[message.room], room.owner == owner, message.seq > room.lastSeq else { return }
            room.lastSeq = message.seq
            var skipping: Set<UInt64> = []
            if !room.floors.isEmpty {
                skipping = Set(room.floors.filter { $0.value >= message.seq }.keys)
                room.floors = room.floors.filter { $0.value > message.seq }
            }
            var writer = JSONWriter(capacity: 96 + message.text.utf8.count)
            ServerFrame.message(message).write(into: &writer)
            let seed = room.seedMembers > 0 ? WebSocketWire.text(ByteBuffer(string: SeedFormat.line(for: message))) : nil
            room.write(json: WebSocketWire.text(ByteBuffer(bytes: writer.bytes)), seed: seed, skipping: skipping)
            ClusterMetrics.delivered.increment(by: room.members.count - skipping.count)
        }
    }

    /// Delivers a presence change to the room's local protocol-v1 clients (from its owner only).
    func deliver(_ event: PresenceEvent, from owner: String) {
        rooms.withLock { rooms in
            guard let room = rooms[event.room], room.owner == owner else { return }
            switch event.kind {
            case .join: room.presence.insert(event.user)
            case .leave: room.presence.remove(event.user)
            }
            Self.tell(event, to: room)
        }
    }

    private static func tell(_ event: PresenceEvent, to room: Room) {
        var writer = JSONWriter()
        ServerFrame.presence(event).write(into: &writer)
        room.write(json: WebSocketWire.text(ByteBuffer(bytes: writer.bytes)), seed: nil)
    }

    /// What this node must tell a new owner to subscribe again: each room's last delivered seq
    /// and its sessions per user.
    func subscriptions(where predicate: (String, String?) -> Bool) -> [(room: String, since: UInt64, sessions: [UserSessions])] {
        rooms.withLock { rooms in
            rooms.compactMap { name, room in
                guard predicate(name, room.owner) else { return nil }
                var counts: [String: UInt32] = [:]
                for member in room.members.values { counts[member.user, default: 0] += 1 }
                let sessions = counts.sorted { $0.key < $1.key }.map { UserSessions(user: $0.key, count: $0.value) }
                return (name, room.lastSeq, sessions)
            }
        }
    }

    /// Records that a room's traffic now comes from `owner`, and delivers what it missed.
    /// Presence that changed while the room was not subscribed (its members now, against those
    /// this node last heard of) is told to the local clients.
    func resubscribed(room name: String, owner: String, missed: RoomSnapshot) {
        rooms.withLock { rooms in
            guard let room = rooms[name] else { return }
            room.owner = owner
            let now = Set(missed.members)
            for user in room.presence.subtracting(now).sorted() {
                Self.tell(PresenceEvent(room: name, kind: .leave, user: user, members: now.count), to: room)
            }
            for user in now.subtracting(room.presence).sorted() {
                Self.tell(PresenceEvent(room: name, kind: .join, user: user, members: now.count), to: room)
            }
            room.presence = now
        }
        for message in missed.messages { deliver(message, from: owner) }
    }

    /// Marks rooms whose owner link was lost (their owner is unknown until they resubscribe).
    func ownerLost(_ owner: String) {
        rooms.withLock { rooms in
            for room in rooms.values where room.owner == owner { room.owner = nil }
        }
    }

    /// Closes every connection that is in a room (each once), with `code` and `reason`; returns
    /// how many. Their rooms empty as the connections end.
    @discardableResult
    func closeAll(code: UInt16, reason: String) -> Int {
        let connections = rooms.withLock { rooms in
            var unique: [UInt64: ClientConnection] = [:]
            for room in rooms.values { for (id, member) in room.members { unique[id] = member.connection } }
            return Array(unique.values)
        }
        for connection in connections { connection.close(code: code, reason: reason) }
        return connections.count
    }

    /// Names of the rooms that have local members.
    var roomNames: [String] { rooms.withLock { Array($0.keys) } }
}
