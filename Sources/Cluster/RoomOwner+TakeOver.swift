import ChatCore
import History
import Logging
import Metrics
import Ring
import Synchronization

/// How this node starts ordering a room it owns on its ring (see `ClaimResolver`).
extension RoomOwner {
    private enum Step {
        case ready, wait
        case takeOver(ReplicaRoom?)
    }

    /// Makes sure this node orders `name`: the first caller takes the room over, the others wait
    /// for it. A take-over that cannot decide yet fails every waiter with `unavailable` (callers
    /// retry) and keeps whatever replica this node held.
    func ensureReady(_ name: String) async throws {
        guard owns(name) else { throw ProtocolError(.unavailable, "\(nodeID) does not own \(name); retry") }
        let step: Step = rooms.withLock { rooms in
            switch rooms[name] {
            case .ready: return .ready
            case .loading: return .wait
            case .replica(let replica):
                rooms[name] = .loading([], replica: replica)
                return .takeOver(replica)
            case nil:
                rooms[name] = .loading([], replica: nil)
                return .takeOver(nil)
            }
        }
        switch step {
        case .ready:
            return
        case .wait:
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let immediate: Result<Void, any Error>? = rooms.withLock { rooms in
                    switch rooms[name] {
                    case .loading(var waiters, let replica):
                        waiters.append(continuation)
                        rooms[name] = .loading(waiters, replica: replica)
                        return nil
                    case .ready: return .success(())
                    case .replica, nil: return .failure(ProtocolError(.unavailable, "room \(name) could not be taken over; retry"))
                    }
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        case .takeOver(let own):
            let outcome = await takeOver(name, own: own)
            try install(name, outcome, own: own)
        }
    }

    /// Asks the next nodes of the room's preference list what they hold and builds the room.
    private func takeOver(_ name: String, own: ReplicaRoom?) async -> Result<(OwnedRoom, String), ProtocolError> {
        let ring = ringView.current
        let isMember = { (node: String) in ring.members.contains(node) }
        var answers = await ask(ring.preferenceList(of: name, count: 4).filter { $0 != nodeID }, about: name)
        for _ in 0..<3 {
            let decision = ClaimResolver.resolve(
                me: nodeID, own: own.map { ($0.owner, $0.transfer) }, answers: answers, isMember: isMember)
            switch decision {
            case .ask(let more):
                answers.merge(await ask(more, about: name)) { $1 }
            case .retry(let reason):
                return .failure(ProtocolError(.unavailable, "room \(name) is moving: \(reason); retry"))
            case .handOff(let transfer):
                return .success((room(from: transfer, members: isMember), "hand_off"))
            case .promote(let transfer):
                // The history cache may be ahead of every replica (when owner and successor
                // died together); it is never consulted on a hand-off, whose state is exact.
                if let cached = try? await history.load(room: name, limit: configuration.logCapacity),
                    let newest = cached.last, newest.seq > transfer.snapshot.lastSeq
                {
                    let machine = RoomStateMachine(room: name, configuration: configuration, restoring: cached)
                    let sessions = transfer.sessions.filter { isMember($0.node) && $0.boot == bootOf($0.node) }
                    return .success((OwnedRoom(name: name, machine: machine, epoch: transfer.epoch, sessions: sessions), "load"))
                }
                return .success((room(from: transfer, members: isMember), "promote"))
            case .load(let epoch):
                do {
                    let cached = try await history.load(room: name, limit: configuration.logCapacity)
                    let machine = RoomStateMachine(room: name, configuration: configuration, restoring: cached)
                    return .success((OwnedRoom(name: name, machine: machine, epoch: epoch, sessions: []), "load"))
                } catch {
                    ClusterMetrics.roomLoadFailures.increment()
                    logger.error("cannot load room \(name): \(error)")
                    return .failure(ProtocolError(.unavailable, "history of room \(name) is unavailable; retry", passesSoon: false))
                }
            }
        }
        return .failure(ProtocolError(.unavailable, "room \(name) has no settled owner yet; retry"))
    }

    /// A room continued from `transfer`; sessions of nodes that are no longer members, or that
    /// were registered by an earlier process of a node that restarted since, are dropped (their
    /// users leave presence).
    private func room(from transfer: RoomTransfer, members isMember: (String) -> Bool) -> OwnedRoom {
        let machine = RoomStateMachine(room: transfer.room, configuration: configuration, snapshot: transfer.snapshot)
        let sessions = transfer.sessions.filter { isMember($0.node) && $0.boot == bootOf($0.node) }
        return OwnedRoom(name: transfer.room, machine: machine, epoch: transfer.epoch, sessions: sessions)
    }

    private func ask(_ nodes: [String], about room: String) async -> [String: ClaimResolver.Answer] {
        await withTaskGroup(of: (String, ClaimResolver.Answer).self) { group in
            for node in nodes {
                group.addTask { [peers] in (node, await peers.claim(room: room, from: node)) }
            }
            var answers: [String: ClaimResolver.Answer] = [:]
            for await (node, answer) in group { answers[node] = answer }
            return answers
        }
    }

    /// Installs a taken-over room if the slot is still this take-over's and this node still owns
    /// the room; otherwise keeps the most advanced state as a replica (a sealed hand-off must
    /// never be dropped: it may be the room's only exact copy).
    private func install(_ name: String, _ outcome: Result<(OwnedRoom, String), ProtocolError>, own: ReplicaRoom?) throws {
        let (waiters, dispatch, error) = rooms.withLock {
            rooms -> ([CheckedContinuation<Void, any Error>], Dispatch?, ProtocolError?) in
            let waiters: [CheckedContinuation<Void, any Error>]
            if case .loading(let list, _) = rooms[name] { waiters = list } else { waiters = [] }
            switch outcome {
            case .success((let room, let how)) where owns(name) && isLoading(rooms[name]):
                rooms[name] = .ready(room)
                ClusterMetrics.takeOvers[how]?.increment()
                logger.info("ordering \(name) from seq \(room.machine.lastSeq), epoch \(room.epoch) (\(how))")
                return (waiters, nextReplication(room), nil)
            case .success((let room, _)):
                let replica = ReplicaRoom(owner: ringView.owner(of: name) ?? "", room: room, configuration: configuration)
                rooms[name] = .replica(Self.moreAdvanced(replica, than: Self.replica(in: rooms[name]) ?? own))
                return (waiters, nil, ProtocolError(.unavailable, "room \(name) moved while it was taken over; retry"))
            case .failure(let error):
                if isLoading(rooms[name]) { rooms[name] = own.map { .replica($0) } }
                return (waiters, nil, error)
            }
        }
        if let dispatch { send(dispatch) }
        for waiter in waiters {
            if let error { waiter.resume(throwing: error) } else { waiter.resume() }
        }
        if let error { throw error }
    }

    private func isLoading(_ slot: Slot?) -> Bool {
        if case .loading = slot { true } else { false }
    }

    static func replica(in slot: Slot?) -> ReplicaRoom? {
        switch slot {
        case .replica(let replica): replica
        case .loading(_, let replica): replica
        default: nil
        }
    }

    static func moreAdvanced(_ a: ReplicaRoom, than b: ReplicaRoom?) -> ReplicaRoom {
        guard let b else { return a }
        return (b.epoch, b.machine.lastSeq) > (a.epoch, a.machine.lastSeq) ? b : a
    }
}
