import ChatCore
import History
import Logging
import Metrics
import Ring
import Synchronization

/// What changes in the rooms when the cluster changes.
extension RoomOwner {
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
        let dispatches = rooms.withLock { rooms -> [Dispatch] in
            var dispatches: [Dispatch] = []
            for (name, slot) in rooms {
                switch slot {
                case .ready(let room):
                    room.subscribers[node] = nil
                    room.dropSessions(of: node)
                    if let dispatch = nextReplication(room) { dispatches.append(dispatch) }
                case .replica(var replica):
                    guard replica.sessions[node] != nil else { continue }
                    replica.sessions[node] = nil
                    replica.boots[node] = nil
                    rooms[name] = .replica(replica)
                case .loading:
                    break
                }
            }
            return dispatches
        }
        for dispatch in dispatches { send(dispatch) }
    }

    /// Drops sessions that can no longer be right, whatever race put them there: those of a node
    /// that `isGone` (dead or left), and those registered by an earlier process of a node that
    /// runs another boot now. Leaves are pushed to the room's subscribers. The cluster runs this
    /// every few seconds as a backstop to `nodeGone`, take-overs and boot checks on requests.
    func sweepSessions(isGone: (String) -> Bool) {
        let dispatches = rooms.withLock { rooms -> [Dispatch] in
            var dispatches: [Dispatch] = []
            for (name, slot) in rooms {
                switch slot {
                case .ready(let room):
                    let stale = room.sessions.keys.filter { isStale($0, boots: room.boots, isGone: isGone) }
                    guard !stale.isEmpty else { continue }
                    for node in stale.sorted() { room.dropSessions(of: node) }
                    if let dispatch = nextReplication(room) { dispatches.append(dispatch) }
                case .replica(var replica):
                    let stale = replica.sessions.keys.filter { isStale($0, boots: replica.boots, isGone: isGone) }
                    guard !stale.isEmpty else { continue }
                    for node in stale {
                        replica.sessions[node] = nil
                        replica.boots[node] = nil
                    }
                    rooms[name] = .replica(replica)
                case .loading:
                    break
                }
            }
            return dispatches
        }
        for dispatch in dispatches { send(dispatch) }
    }

    private func isStale(_ node: String, boots: [String: String], isGone: (String) -> Bool) -> Bool {
        if isGone(node) { return true }
        let current = bootOf(node)
        guard let registered = boots[node], !registered.isEmpty, !current.isEmpty else { return false }
        return registered != current
    }

    /// The ring changed. Every room this node orders but no longer owns is sealed (held here as a
    /// replica) and its state pushed to its new owner, which takes it over at once; requests
    /// waiting on a take-over of a room no longer owned fail; rooms still owned resume their
    /// replication (their successor may be new). Replicas of rooms this node now owns are taken
    /// over at once, not at the first request: the room is writable again sooner, and its state
    /// is on two nodes again before another failure can take the only copy. Replicas are kept
    /// (a later change may make them the best copy; the take-over picks the newest epoch).
    func ringChanged() {
        let ring = ringView.current
        let (count, waiters, dispatches, takeOvers, handOffs) = rooms.withLock {
            rooms -> (Int, [CheckedContinuation<Void, any Error>], [Dispatch], [String], [(String, RoomTransfer)]) in
            var waiters: [CheckedContinuation<Void, any Error>] = []
            var dispatches: [Dispatch] = []
            var takeOvers: [String] = []
            var handOffs: [(String, RoomTransfer)] = []
            for (name, slot) in rooms {
                switch slot {
                case .ready(let room):
                    if owns(name) {
                        if let dispatch = nextReplication(room) { dispatches.append(dispatch) }
                    } else if let newOwner = ring.owner(of: name) {
                        handOffs.append((newOwner, room.transfer))
                        seal(room, in: &rooms, for: newOwner)
                    }
                case .loading(let list, let replica) where !owns(name):
                    // The take-over sees the slot changed and keeps what it got as a replica.
                    waiters += list
                    rooms[name] = replica.map { .replica($0) }
                case .replica where owns(name):
                    takeOvers.append(name)
                default:
                    break
                }
            }
            return (rooms.values.count { if case .ready = $0 { true } else { false } }, waiters, dispatches, takeOvers, handOffs)
        }
        for (node, transfer) in handOffs {
            Task { [peers] in _ = try? await peers.replicate(.handOff(transfer), to: node) }
        }
        for waiter in waiters { waiter.resume(throwing: ProtocolError(.unavailable, "the room moved to another node; retry")) }
        for dispatch in dispatches { send(dispatch) }
        for name in takeOvers { Task { await takeOverEagerly(name) } }
        ClusterMetrics.rooms.record(count)
    }

    /// Takes a room over in the background, trying again for a few seconds while the answer is
    /// "not yet" (the old owner's ring may lag behind this node's).
    func takeOverEagerly(_ name: String) async {
        var delay: Duration = .milliseconds(20)
        for _ in 0..<10 {
            guard owns(name) else { return }
            do {
                try await ensureReady(name)
                return
            } catch {
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .milliseconds(500))
            }
        }
    }

    /// Whether every room here is settled: none is being taken over, every room this node owns
    /// is ordered here (not only held as a replica), and each has its successor in sync with
    /// nothing waiting to commit. For tests and the chaos checker's quiet points.
    public var isSettled: Bool { unsettled.isEmpty }

    /// The rooms that keep this node from being settled, with why (for test failures).
    var unsettled: [String] {
        rooms.withLock { rooms in
            rooms.compactMap { name, slot in
                switch slot {
                case .loading: return "\(name): being taken over"
                case .replica(let replica): return owns(name) ? "\(name): owned but only held (for \(replica.owner))" : nil
                case .ready(let room):
                    let settled =
                        room.replication.target == successor(of: name)
                        && room.replication.isIdle(lastSeq: room.machine.lastSeq, committedSeq: room.machine.committedSeq)
                    return settled ? nil : "\(name): replication \(room.replication) to \(successor(of: name) ?? "nobody")"
                }
            }.sorted()
        }
    }

    /// Graceful leave: stops ordering every room and ships each room's whole state to its owner
    /// on the ring without this node (a hand-off it keeps until it owns the room), then returns
    /// once every transfer was answered or `timeout` passed. The cluster announces the leave
    /// after this: the new owners then take the rooms over from the state they hold.
    public func handOffAll(timeout: Duration = .seconds(3)) async {
        leaving.store(true, ordering: .relaxed)
        let ring = ringView.current
        let without = HashRing(members: ring.members.filter { $0 != nodeID }, virtualNodes: ring.virtualNodes)
        let transfers = rooms.withLock { rooms -> [(String, RoomTransfer)] in
            var transfers: [(String, RoomTransfer)] = []
            for case .ready(let room) in rooms.values {
                guard let newOwner = without.owner(of: room.name) else { continue }
                transfers.append((newOwner, room.transfer))
                seal(room, in: &rooms, for: newOwner)
            }
            return transfers
        }
        guard !transfers.isEmpty else { return }
        logger.info("handing off \(transfers.count) rooms")
        await withTaskGroup(of: Bool.self) { group in
            for (node, transfer) in transfers {
                group.addTask { [peers] in
                    _ = try? await peers.replicate(.handOff(transfer), to: node)
                    return true
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            var answered = 0
            for await isTransfer in group {
                answered += isTransfer ? 1 : 0
                if !isTransfer || answered == transfers.count { break }
            }
            group.cancelAll()
        }
    }
}
