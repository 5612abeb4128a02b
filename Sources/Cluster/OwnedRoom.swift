import ChatCore
import History
import Metrics
import NIOCore
import RoomGroup

/// A room this node orders: its sequencer, its epoch, the nodes subscribed to it, presence per
/// node, the senders waiting for their message to commit, and its replication to the successor.
/// Only touched under `RoomOwner`'s lock.
final class OwnedRoom: @unchecked Sendable {
    typealias Waiter = CheckedContinuation<(seq: UInt64, duplicate: Bool), any Error>

    let name: String
    var machine: RoomStateMachine
    let epoch: UInt64
    var subscribers: [String: any RoomSubscriber] = [:]
    var sessions: SessionTable
    /// The boot id of each node's sessions (see `NodeSessions.boot`).
    var boots: [String: String]
    /// Senders waiting for a seq to commit (the original first, then retries).
    var waiters: [UInt64: [(waiter: Waiter, duplicate: Bool)]] = [:]
    var replication = ReplicationState()
    /// Reads (joins, resubscribes, pages) waiting for the read barrier: each is answered, under
    /// the lock, once the successor acks a replication request sent after it arrived (generation
    /// above `after`), or fails when the room stops being ordered here.
    var reads: [PendingRead] = []
    /// Majority groups only (`GroupHubs`): presence is part of the room's replicated state.
    /// Sessions stay soft state at the leader, which tells its group (`presenceSink`) when the
    /// users of a node's process change (keyed `presenceKey(node:boot:)`); presence events go
    /// out, and `machine`'s members change, only as those changes commit (`committedPresence`,
    /// on every replica). Nil: the successor path, where the owner's sessions are presence.
    var presenceSink: ((_ key: String, _ update: PresenceUpdate) -> Void)?
    var committedPresence = PresenceTable()
    /// When this replica started leading the room (majority groups), for `GroupRooms.sweepSessions`.
    var leadingSince: NIODeadline?

    struct PendingRead {
        /// The replication generation when the read arrived.
        let after: UInt64
        let answer: () -> Void
        let fail: (ProtocolError) -> Void
    }

    init(name: String, machine: RoomStateMachine, epoch: UInt64, sessions: [NodeSessions]) {
        self.name = name
        self.machine = machine
        self.epoch = epoch
        self.sessions = SessionTable(sessions)
        self.boots = SessionTable.boots(sessions)
        self.machine.setMembers(self.sessions.perUser)
    }

    var transfer: RoomTransfer {
        RoomTransfer(room: name, epoch: epoch, snapshot: machine.snapshot, sessions: sessions.list(boots: boots))
    }

    func push(_ frame: InternalFrame) {
        var encoded: ByteBuffer?
        for subscriber in subscribers.values { subscriber.push(frame, encoded: &encoded) }
    }

    /// Performs what a commit produced: history, delivery to every subscribed node, acks.
    func perform(_ actions: [RoomStateMachine.Action], history: any HistoryStore) {
        for action in actions {
            switch action {
            case .persist(let message):
                history.append(message)
            case .deliver(let message):
                ClusterMetrics.sequenced.increment()
                push(.message(message))
            case .ack(_, _, let seq, _):
                for entry in waiters.removeValue(forKey: seq) ?? [] {
                    if entry.duplicate { ClusterMetrics.duplicates.increment() }
                    entry.waiter.resume(returning: (seq, entry.duplicate))
                }
            case .presence(let event):
                push(.presence(event))
            case .replicate, .awaitCommit:
                break
            }
        }
    }

    /// Fails every waiting sender and reader (the room stops being ordered here; they retry
    /// elsewhere).
    func failWaiters(_ error: ProtocolError) {
        let all = waiters.values.flatMap { $0 }
        waiters = [:]
        for entry in all { entry.waiter.resume(throwing: error) }
        failReads(error)
    }

    /// Fails every read waiting for the read barrier.
    func failReads(_ error: ProtocolError) {
        let pending = reads
        reads = []
        for read in pending { read.fail(error) }
    }

    /// Answers the reads that arrived before replication request `generation` was sent: its ack
    /// proved that this node still ordered the room after they arrived. `nil`: every read (this
    /// node is alone on its ring).
    func answerReads(confirmedBy generation: UInt64?) {
        guard !reads.isEmpty else { return }
        let limit = generation ?? .max
        let ready = reads.filter { $0.after < limit }
        reads.removeAll { $0.after < limit }
        for read in ready { read.answer() }
    }

    /// Sets the sessions of `user` on `node`; returns the presence changes (the caller pushes
    /// them, after any reply that must come first).
    @discardableResult
    func setSessions(node: String, boot: String, user: String, count: UInt32, pushNow: Bool = true) -> [PresenceEvent] {
        var events: [PresenceEvent] = []
        if let known = boots[node], known != boot {
            // The node restarted: its earlier process's sessions are gone.
            events += dropSessions(of: node, pushNow: pushNow)
        }
        boots[node] = boot
        return events + setSessions(node: node, user: user, count: count, pushNow: pushNow)
    }

    @discardableResult
    private func setSessions(node: String, user: String, count: UInt32, pushNow: Bool) -> [PresenceEvent] {
        let current = sessions[node]?[user] ?? 0
        guard count != current else { return [] }
        if let presenceSink {
            let known = sessions[node] != nil
            let key = Self.presenceKey(node: node, boot: boots[node] ?? "")
            setSoftSessions(node: node, user: user, count: count)
            guard (current == 0) != (count == 0) else { return [] }
            // The node's first session at this leader states its whole set: presence may still
            // list users of the node's earlier process (it restarted while the room changed
            // leader), which nothing else would remove.
            presenceSink(key, count == 0 ? .leave(user) : known ? .join(user) : .exactly([user]))
            return []
        }
        var actions: [RoomStateMachine.Action] = []
        if count > current {
            for _ in current..<count { actions += machine.join(user: user) }
        } else {
            for _ in count..<current { actions += machine.leave(user: user) }
        }
        sessions[node, default: [:]][user] = count == 0 ? nil : count
        if sessions[node]?.isEmpty == true {
            sessions[node] = nil
            boots[node] = nil
        }
        replication.sessionsDidChange()
        let events = actions.compactMap { action -> PresenceEvent? in
            if case .presence(let event) = action { return event }
            return nil
        }
        if pushNow { for event in events { push(.presence(event)) } }
        return events
    }

    /// Removes every session of `node` (it left the cluster, or restarted), pushing the leaves.
    @discardableResult
    func dropSessions(of node: String, pushNow: Bool = true) -> [PresenceEvent] {
        if let presenceSink {
            let key = Self.presenceKey(node: node, boot: boots[node] ?? "")
            sessions[node] = nil
            boots[node] = nil
            presenceSink(key, .exactly([]))
            return []
        }
        var events: [PresenceEvent] = []
        for user in sessions[node]?.keys.sorted() ?? [] {
            events += setSessions(node: node, user: user, count: 0, pushNow: pushNow)
        }
        boots[node] = nil
        return events
    }
}
