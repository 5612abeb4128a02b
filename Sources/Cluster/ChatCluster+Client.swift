import ChatCore
import Ring

/// Client operations: each goes to the room's owner on this node's ring.
extension ChatCluster {
    /// How long a client request is held while its room has no owner that answers.
    static let routingDeadline: Duration = .seconds(6)

    /// Joins `connection` to `room` as `user`: the owner registers the session and answers with a
    /// snapshot; the connection is added to the local room, and gets `joined`, in the owner's
    /// order, so that no message falls between the snapshot and the live stream.
    public func join(
        room: String, connection: ClientConnection, user: String, since: UInt64?, ref: JSONValue?, announce: Bool = true
    )
        async throws
    {
        try await routed(room) { target in
            let add: @Sendable (RoomSnapshot) -> Void = { [local, resubscribeSignal] snapshot in
                let joined: ServerFrame? =
                    announce
                    ? .joined(
                        room: room, ref: ref, seq: snapshot.seq, history: snapshot.messages, members: snapshot.members,
                        truncated: snapshot.truncated) : nil
                let subscribed = local.add(
                    connection: connection, user: user, room: room, owner: target, snapshot: snapshot, joined: joined)
                // The room's other clients still miss what the snapshot is ahead of them.
                if !subscribed { resubscribeSignal.yield() }
            }
            if target == nodeID {
                try await rooms.join(room: room, user: user, since: since, subscriber: localSubscriber, reply: add)
            } else {
                let reply = try await link(to: target).request({ .join(corr: $0, room: room, user: user, since: since) }) { frame in
                    if case .joinReply(_, let snapshot) = frame { add(snapshot) }
                }
                try Self.check(reply)
            }
        }
    }

    /// Removes `connection` from `room`; false when it was not in it. The owner is told after.
    public func leave(room: String, connection: ClientConnection, user: String) async -> Bool {
        guard local.remove(connection: connection, room: room) else { return false }
        try? await routed(room) { target in
            if target == nodeID {
                try await rooms.leave(room: room, user: user, node: nodeID)
            } else {
                try Self.check(try await link(to: target).request { .leave(corr: $0, room: room, user: user) })
            }
        }
        return true
    }

    /// Sends a message through the room's owner; returns its seq.
    public func send(room: String, user: String, id: String, text: String) async throws -> (seq: UInt64, duplicate: Bool) {
        try await routed(room) { target in
            if target == nodeID {
                return try await rooms.send(room: room, user: user, id: id, text: text)
            }
            let reply = try await link(to: target).request { .send(corr: $0, room: room, user: user, id: id, text: text) }
            try Self.check(reply)
            guard case .sendReply(_, let seq, let duplicate) = reply else {
                throw ProtocolError(.internal, "unexpected reply from \(target)")
            }
            return (seq, duplicate)
        }
    }

    /// A page of history: the first `limit` above `since`, or the `limit` just below `before`.
    public func messages(room: String, before: UInt64?, since: UInt64?, limit: Int) async throws -> [ChatMessage] {
        try await routed(room) { target in
            if target == nodeID {
                return try await rooms.messages(room: room, before: before, since: since, limit: limit).messages
            }
            let reply = try await link(to: target).request {
                .history(corr: $0, room: room, before: before, since: since, limit: UInt32(limit))
            }
            try Self.check(reply)
            guard case .messagesReply(_, let snapshot) = reply else { throw ProtocolError(.internal, "unexpected reply from \(target)") }
            return snapshot.messages
        }
    }

    /// The room's owner, latest seq and members.
    public func info(room: String) async throws -> (owner: String, seq: UInt64, members: [String]) {
        try await routed(room) { target in
            if target == nodeID {
                let snapshot = try await rooms.info(room: room)
                return (target, snapshot.seq, snapshot.members)
            }
            let reply = try await link(to: target).request { .info(corr: $0, room: room) }
            try Self.check(reply)
            guard case .messagesReply(_, let snapshot) = reply else { throw ProtocolError(.internal, "unexpected reply from \(target)") }
            return (target, snapshot.seq, snapshot.members)
        }
    }

    /// Runs `body` against the room's owner; while the answer is `unavailable` (no link yet, the
    /// ring is settling, the room is being handed off or taken over), tries again for up to
    /// `routingDeadline`, looking the owner up afresh each time: sends are held here rather than
    /// failed while a room moves. The deadline covers a request that waited out the link's 3 s
    /// timeout on a paused owner plus the failover after it. Sends are idempotent at the owner
    /// (by their id), so a retry never sequences a message twice; a join retried after a timeout
    /// whose first attempt did land counts one session twice (rare; a known gap until sessions
    /// carry their id).
    func routed<T: Sendable>(_ room: String, _ body: (String) async throws -> T) async throws -> T {
        if let groups { return try await routedInGroups(room, groups, body) }
        let deadline = ContinuousClock.now + Self.routingDeadline
        var delay: Duration = .milliseconds(10)
        while true {
            guard let target = ring.owner(of: room) else {
                // An empty ring: this node sees only a minority of the cluster (or is leaving).
                // Waiting here would not help: the client should try another node.
                throw ProtocolError(
                    .unavailable, "\(nodeID) does not see a majority of the cluster; try another node", passesSoon: false)
            }
            do {
                return try await body(target)
            } catch let error as ProtocolError
                where error.code == .unavailable && error.passesSoon && ContinuousClock.now + delay < deadline
            {
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .milliseconds(100))
            }
        }
    }
}
