import ChatCore
import History
import Logging
import Metrics
import Ring
import Synchronization

/// The owner's side of replication: what goes to each room's successor, and what commits when it
/// answers.
extension RoomOwner {
    /// How long to wait before sending again to a successor that could not be reached (it is
    /// probably dying: gossip will drop it from the ring, and the next successor gets the state).
    static let replicationRetryDelay: Duration = .milliseconds(50)

    /// The next replication request for `room`, if one should go now. Alone on the ring, the
    /// pending messages commit here instead; but a ring without this node (it sees no majority
    /// of the cluster, `RosterQuorum`) commits nothing: the room is about to be sealed, and its
    /// waiting senders retry elsewhere. Called under the lock.
    func nextReplication(_ room: OwnedRoom) -> Dispatch? {
        let lastSeq = room.machine.lastSeq
        let successor = successor(of: room.name)
        if successor == nil, !ringView.current.members.contains(nodeID) { return nil }
        switch room.replication.next(successor: successor, committedSeq: room.machine.committedSeq, lastSeq: lastSeq) {
        case .idle:
            if successor == nil { room.answerReads(confirmedBy: nil) }
            return nil
        case .commitLocally:
            room.perform(room.machine.commit(through: lastSeq), history: history)
            room.answerReads(confirmedBy: nil)
            return nil
        case .sync(let node):
            ClusterMetrics.replicaSyncs.increment()
            return Dispatch(
                room: room, node: node, request: .sync(room.transfer), through: lastSeq, generation: room.replication.generation)
        case .append(let node, let baseSeq, let sessions):
            let request = ReplicationRequest.append(
                room: room.name, epoch: room.epoch, baseSeq: baseSeq, messages: room.machine.uncommitted,
                sessions: sessions ? room.sessions.list(boots: room.boots) : nil)
            return Dispatch(room: room, node: node, request: request, through: lastSeq, generation: room.replication.generation)
        }
    }

    /// Sends a replication request and handles the answer.
    func send(_ dispatch: Dispatch) {
        Task {
            let reply = try? await peers.replicate(dispatch.request, to: dispatch.node)
            replicated(dispatch, reply: reply)
        }
    }

    /// The successor answered (`nil`: it could not be reached): commit what it holds, start over
    /// with the whole state, or stop ordering a room this node no longer owns.
    func replicated(_ dispatch: Dispatch, reply: ReplicationReply?) {
        var retakeOver = false
        let (next, retry) = rooms.withLock { rooms -> (Dispatch?, Bool) in
            guard case .ready(let room) = rooms[dispatch.room.name], room === dispatch.room,
                room.replication.finished(reply, generation: dispatch.generation)
            else { return (nil, false) }
            switch reply {
            case .ack(let seq):
                room.perform(room.machine.commit(through: min(seq, dispatch.through)), history: history)
                room.answerReads(confirmedBy: dispatch.generation)
            case .stale(let reason):
                logger.warning("stopped ordering \(room.name): \(dispatch.node) refused its replication: \(reason)")
                seal(room, in: &rooms, for: ringView.owner(of: room.name))
                // Refused while this node still owns the room on its ring: the rings disagree
                // for a moment (the successor has not seen the change yet). Take it over again,
                // from the state now held here, once they agree.
                retakeOver = owns(room.name)
                return (nil, false)
            case .resync:
                break
            case nil:
                // A stopped node (or one not yet joined) does not keep trying; its reads fail
                // rather than wait for a confirmation that will not come.
                let retry = active.load(ordering: .relaxed)
                if !retry { room.failReads(ProtocolError(.unavailable, "\(nodeID) stopped ordering \(room.name); retry")) }
                return (nil, retry)
            }
            return (nextReplication(room), false)
        }
        if let next { send(next) }
        if retakeOver { Task { await takeOverEagerly(dispatch.room.name) } }
        if retry {
            ClusterMetrics.replicationRetries.increment()
            Task {
                try? await Task.sleep(for: Self.replicationRetryDelay)
                resumeReplication(of: dispatch.room)
            }
        }
    }

    /// Sends whatever `room` still has to replicate (after a failed attempt or a ring change).
    func resumeReplication(of room: OwnedRoom) {
        let next = rooms.withLock { rooms -> Dispatch? in
            guard case .ready(let current) = rooms[room.name], current === room else { return nil }
            return nextReplication(room)
        }
        if let next { send(next) }
    }

    /// Stops ordering `room`: senders still waiting are told to retry (their retry reaches the
    /// new owner, which knows their ids), subscribed nodes are told it moved, and its state stays
    /// here as a replica for `newOwner` to take over. Called under the lock.
    func seal(_ room: OwnedRoom, in rooms: inout [String: Slot], for newOwner: String?) {
        rooms[room.name] = .replica(ReplicaRoom(owner: newOwner ?? "", room: room, configuration: configuration))
        room.failWaiters(ProtocolError(.unavailable, "room \(room.name) moved to another node; retry"))
        room.push(.moved(room: room.name))
        ClusterMetrics.ownerChanges.increment()
    }
}
