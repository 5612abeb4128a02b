import ChatCore
import NIOCore
import RoomGroup
import Synchronization

/// What this node serves of the rooms whose groups it is part of: for each room an `OwnedRoom`
/// used as a hub. Its machine is only a buffer of the room's committed messages (the group
/// orders them; this buffer answers joins, resubscribes and pages); its subscribers and sessions
/// exist only while this replica leads the room. Every member is touched on the groups' event
/// loop only, in the order `GroupHost` reports, so a reply to a join always precedes the
/// messages committed after its snapshot.
///
/// Presence is replicated: the leader's sessions are soft state (a new leader starts with none
/// and the nodes rebuild them when they subscribe there again), but which users are present
/// through which node goes through the room's log (`OwnedRoom+GroupPresence`), so every replica
/// knows it and a new leader removes the users of nodes that are gone.
final class GroupHubs: Sendable {
    let loop: any EventLoop
    let configuration: RoomStateMachine.Configuration
    private let rooms: NIOLoopBoundBox<[String: OwnedRoom]>
    /// Rooms this node leads now (for `/cluster` and `stats`).
    let leading = Atomic<Int>(0)
    /// Where a leading hub sends its nodes' presence changes (the host; set once it exists).
    private let proposePresence = Mutex<(@Sendable (_ room: String, _ node: String, PresenceUpdate) -> Void)?>(nil)

    init(loop: any EventLoop, configuration: RoomStateMachine.Configuration) {
        self.loop = loop
        self.configuration = configuration
        rooms = NIOLoopBoundBox.makeBoxSendingValue([:], eventLoop: loop)
    }

    /// The hub of `room`, created empty if needed (on the loop).
    func hub(_ room: String) -> OwnedRoom {
        if let hub = rooms.value[room] { return hub }
        let hub = OwnedRoom(name: room, machine: RoomStateMachine(room: room, configuration: configuration), epoch: 0, sessions: [])
        hub.presenceSink = { [weak self] key, update in self?.proposePresence.withLock { $0 }?(room, key, update) }
        rooms.value[room] = hub
        return hub
    }

    /// Connects the hubs to the host their presence changes go to.
    func connect(presence: @escaping @Sendable (_ room: String, _ node: String, PresenceUpdate) -> Void) {
        proposePresence.withLock { $0 = presence }
    }

    func existing(_ room: String) -> OwnedRoom? { rooms.value[room] }

    var all: [OwnedRoom] { Array(rooms.value.values) }

    /// Starts the buffer of a room that is being created from the history store's tail.
    func seed(_ room: String, with stored: [ChatMessage]) {
        guard rooms.value[room] == nil else { return }
        let hub = self.hub(room)
        hub.machine = RoomStateMachine(room: room, configuration: configuration, restoring: stored)
    }

    /// What the group committed, in seq order: appended to the buffer and pushed to the
    /// subscribed nodes (there are some only while this replica leads).
    func deliver(_ room: String, _ delivery: GroupDelivery) {
        let hub = self.hub(room)
        switch delivery {
        case .messages(let committed):
            let messages = committed.map { ChatMessage(room: room, $0) }
            let fresh = messages.filter { $0.seq > hub.machine.lastSeq }
            guard let first = fresh.first else { return }
            // The buffer is a cache: where it does not continue (a replica that joined late, a
            // leader whose buffer began at a snapshot), it restarts just before the new messages.
            if first.seq != hub.machine.lastSeq + 1 { restart(hub, after: first.seq - 1) }
            _ = hub.machine.appendReplicated(fresh)
            for message in fresh { hub.push(.message(message)) }
        case .gap(_, let through), .lost(_, let through):
            // Committed seqs this replica has no text for (received in a snapshot, or skipped by
            // a recovery): the buffer restarts after them; older pages come from the store.
            if through > hub.machine.lastSeq { restart(hub, after: through) }
        case .presence(let changes):
            hub.applyCommittedPresence(changes)
        case .presenceTable(let table):
            hub.resetCommittedPresence(table)
        }
    }

    /// This replica started or stopped leading `room`. A leader that stops tells its
    /// subscribed nodes (`moved`: they subscribe again wherever the room is led now) and
    /// forgets them and their sessions (presence itself stays: it is the group's).
    func leadingChanged(_ room: String, _ leads: Bool) {
        leading.add(leads ? 1 : -1, ordering: .relaxed)
        if leads {
            hub(room).leadingSince = .now()
            return
        }
        guard let hub = rooms.value[room] else { return }
        hub.leadingSince = nil
        hub.push(.moved(room: room))
        hub.subscribers = [:]
        hub.sessions = SessionTable([])
        hub.boots = [:]
    }

    private func restart(_ hub: OwnedRoom, after seq: UInt64) {
        let snapshot = RoomStateMachine.Snapshot(lastSeq: seq, lastTimestamp: 0, log: [], recentIDs: [])
        hub.machine = RoomStateMachine(room: hub.name, configuration: configuration, snapshot: snapshot)
        hub.machine.setMembers(hub.committedPresence.perUser)
    }
}
