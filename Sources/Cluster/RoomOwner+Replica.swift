import ChatCore
import History
import Logging
import Metrics
import Synchronization

/// This node as other owners' successor: it applies their replication (by `ReplicaRules`) and
/// answers new owners that take a room over (`ClaimResolver`).
extension RoomOwner {
    /// Applies replication from `sender`. Runs synchronously, so requests for one room are
    /// applied in the order the owner sent them (it has at most one in flight per room).
    func replicate(_ request: ReplicationRequest, from sender: String) -> ReplicationReply {
        let name = request.room
        var takeOver = false
        let reply: ReplicationReply = rooms.withLock { rooms in
            let ringOwner = ringView.owner(of: name)
            var held: ReplicaRoom?
            var ordersItself = false
            switch rooms[name] {
            case .ready, .loading: ordersItself = true
            case .replica(let replica): held = replica
            case nil: break
            }
            switch request {
            case .append(_, let epoch, let baseSeq, let messages, let sessions):
                let verdict = ReplicaRules.append(
                    held: held?.held, sender: sender, epoch: epoch, baseSeq: baseSeq, ringOwner: ringOwner, ordersItself: ordersItself)
                switch verdict {
                case .accept:
                    guard var replica = held, replica.machine.appendReplicated(messages) else { return .resync }
                    if let sessions {
                        replica.sessions = SessionTable(sessions)
                        replica.boots = SessionTable.boots(sessions)
                    }
                    replica.owner = sender
                    rooms[name] = .replica(replica)
                    return .ack(seq: replica.machine.lastSeq)
                case .resync:
                    return .resync
                case .stale(let reason):
                    return .stale(reason)
                }
            case .sync(let transfer):
                let verdict = ReplicaRules.sync(
                    held: held?.held, sender: sender, epoch: transfer.epoch, ringOwner: ringOwner, ordersItself: ordersItself)
                guard verdict == .accept else {
                    if case .stale(let reason) = verdict { return .stale(reason) }
                    return .resync
                }
                rooms[name] = .replica(ReplicaRoom(owner: sender, transfer: transfer, configuration: configuration))
                return .ack(seq: transfer.snapshot.lastSeq)
            case .handOff(let transfer):
                guard !ordersItself else { return .stale("already ordered here") }
                let offered = ReplicaRoom(owner: sender, transfer: transfer, configuration: configuration)
                rooms[name] = .replica(Self.moreAdvanced(offered, than: held))
                takeOver = owns(name)
                return .ack(seq: transfer.snapshot.lastSeq)
            }
        }
        if takeOver { Task { await takeOverEagerly(name) } }
        if case .stale = reply { ClusterMetrics.replicaRefusals.increment() }
        return reply
    }

    /// What this node holds of `room`, for `claimer` taking it over. If this node still orders
    /// the room but its ring says `claimer` owns it, it seals the room here and hands it off; if
    /// its ring still says it owns the room, the claimer must wait (`unreachable`).
    func answerClaim(room name: String, claimer: String) -> ClaimResolver.Answer {
        rooms.withLock { rooms in
            switch rooms[name] {
            case .ready(let room):
                guard ringView.owner(of: name) == claimer || leaving.load(ordering: .relaxed) else { return .unreachable }
                let transfer = room.transfer
                seal(room, in: &rooms, for: claimer)
                return .owned(transfer)
            case .replica(let replica):
                return .replica(owner: replica.owner, replica.transfer)
            case .loading:
                return .unreachable
            case nil:
                return .none
            }
        }
    }
}
