import ChatCore
import History
import Logging
import Metrics
import NIOCore
import RoomGroup
import Synchronization

/// Client requests at this node, for rooms whose group it is (or should be) part of. Each
/// throws `NotLeaderError` when another replica leads, and `ProtocolError(.unavailable)` when
/// no replica can serve right now: lasting when the group has no reachable majority (a cut-off
/// minority, or a group that lost its majority for good), passing while a leader is elected.
extension GroupRooms {
    /// Sequences a message through the room's group; returns once a majority holds it.
    func send(room: String, user: String, id: String, text: String) async throws -> (seq: UInt64, duplicate: Bool) {
        try await ensureReplica(room)
        switch try await host.send(room: room, user: user, id: id, text: text).get() {
        case .acked(let seq):
            return (seq, false)
        case .duplicate(let seq):
            ClusterMetrics.duplicates.increment()
            return (seq, true)
        case let reply:
            throw try await refusal(reply, room: room)
        }
    }

    /// The group's answer to a send, if this node already has the room's replica (nil: use
    /// `send`, which may create it). For callers on the links' event loop that want no task.
    func sendIfHeld(room: String, user: String, id: String, text: String) -> EventLoopFuture<GroupReply>? {
        guard replicas.withLock({ $0.contains(room) }) else { return nil }
        return host.send(room: room, user: user, id: id, text: text)
    }

    /// A session of `user` on the subscriber's node joins; `reply` gets the snapshot on the
    /// groups' loop, before any message committed after it is pushed to that node.
    func join(
        room: String, user: String, since: UInt64?, subscriber: any RoomSubscriber,
        reply: @escaping @Sendable (RoomSnapshot) -> Void
    ) async throws {
        try await read(room) { [bootOf] hub in
            try hub.checkCurrent(subscriber, currentBoot: bootOf(subscriber.nodeID))
            hub.join(user: user, since: since, subscriber: subscriber, reply: reply)
        }
    }

    /// Subscribes a node again with its sessions; replies with what it missed.
    func resubscribe(
        room: String, since: UInt64, sessions: [UserSessions], subscriber: any RoomSubscriber,
        reply: @escaping @Sendable (RoomSnapshot) -> Void
    ) async throws {
        try await read(room) { [bootOf] hub in
            try hub.checkCurrent(subscriber, currentBoot: bootOf(subscriber.nodeID))
            hub.resubscribe(since: since, sessions: sessions, subscriber: subscriber, reply: reply)
        }
    }

    /// A session leaves. A leave that finds no leader here is sent on to the leader this
    /// replica knows, or dropped: the node's next subscription carries its sessions, and a new
    /// leader removes the users of a node that does not subscribe again (`sweepSessions`).
    func leave(room: String, user: String, node: String) async throws {
        let hint: String? = try await hubs.loop.submit { [host, hubs] in
            if host.leads(room) {
                hubs.existing(room)?.leave(user: user, node: node)
                return nil
            }
            return host.knownLeader(room)
        }.get()
        if let hint { throw NotLeaderError(hint: hint) }
    }

    /// A page of history. The leader's buffer holds what it committed or received as entries;
    /// a page that reaches below its oldest message (a leader that caught up from a snapshot, or
    /// restarted) is read from the history store, merged with the buffer. A room no replica
    /// holds is answered from the store alone and is not created (issue 11: reads make no state).
    func messages(room: String, before: UInt64?, since: UInt64?, limit: Int) async throws -> RoomSnapshot {
        let (page, oldest): (RoomSnapshot, UInt64?)
        do {
            (page, oldest) = try await read(room, create: false) { hub in
                (hub.page(before: before, since: since, limit: limit), hub.machine.messages(since: 0, limit: 1).messages.first?.seq)
            }
        } catch is RoomNotCreated {
            let stored = try await storedMessages(of: room)
            return Self.page(of: stored, seq: stored.last?.seq ?? 0, members: [], before: before, since: since, limit: limit)
        }
        let reachesBelow: Bool =
            if let since {
                oldest.map { since + 1 < $0 } ?? false
            } else {
                page.messages.count < limit && (oldest ?? 1) > 1
            }
        guard reachesBelow else { return page }
        let stored: [ChatMessage]
        do {
            stored = try await history.load(room: room, limit: hubs.configuration.logCapacity)
        } catch {
            return page
        }
        var bySeq: [UInt64: ChatMessage] = [:]
        for message in stored + page.messages { bySeq[message.seq] = message }
        let all = bySeq.values.sorted { $0.seq < $1.seq }
        return Self.page(of: all, seq: page.seq, members: page.members, before: before, since: since, limit: limit)
    }

    /// The page of `all` (in seq order) that a history request asks for.
    static func page(
        of all: [ChatMessage], seq: UInt64, members: [String], before: UInt64?, since: UInt64?, limit: Int
    ) -> RoomSnapshot {
        let chosen: [ChatMessage]
        var truncated = false
        if let since {
            chosen = Array(all.filter { $0.seq > since }.prefix(limit))
            truncated = (all.first?.seq ?? since + 1) > since + 1
        } else {
            chosen = Array(all.filter { message in before.map { message.seq < $0 } ?? true }.suffix(limit))
        }
        return RoomSnapshot(seq: seq, messages: chosen, members: members, truncated: truncated)
    }

    /// The room's seq and members; a room no replica holds is answered from the history store
    /// (its last stored seq, nobody in it) and is not created.
    func info(room: String) async throws -> RoomSnapshot {
        do {
            return try await read(room, create: false) { hub in hub.snapshot(messages: [], truncated: false) }
        } catch is RoomNotCreated {
            let stored = try await storedMessages(of: room)
            return RoomSnapshot(seq: stored.last?.seq ?? 0, messages: [], members: [], truncated: false)
        }
    }

    /// What the history store holds of a room that no replica holds.
    private func storedMessages(of room: String) async throws -> [ChatMessage] {
        do {
            return try await history.load(room: room, limit: hubs.configuration.logCapacity)
        } catch {
            throw ProtocolError(.unavailable, "cannot read \(room)'s history: \(error)", passesSoon: false)
        }
    }

    /// Runs `body` on the room's hub once a read barrier confirmed that this replica leads
    /// and its buffer holds everything committed before the request (Raft's read index), on the
    /// groups' loop and only if it still leads there. With `create` false, a room that nobody
    /// holds throws `RoomNotCreated` instead of being created.
    func read<T: Sendable>(
        _ room: String, create: Bool = true, _ body: @escaping @Sendable (OwnedRoom) throws -> T
    ) async throws -> T {
        try await ensureReplica(room, create: create)
        let reply = try await host.readBarrier(room: room).get()
        guard case .readable = reply else { throw try await refusal(reply, room: room) }
        return try await hubs.loop.submit { [host, hubs] in
            guard host.leads(room) else { throw ProtocolError(.unavailable, "leadership of \(room) moved; retry") }
            return try body(hubs.hub(room))
        }.get()
    }

    /// The error for a group's answer other than success.
    func refusal(_ reply: GroupReply, room: String) async throws -> any Error {
        switch reply {
        case .notLeader(let hint):
            return NotLeaderError(hint: hint)
        case .unavailable:
            guard let status = try await host.status(room: room).get(), !status.voters.isEmpty else {
                return ProtocolError(.unavailable, "\(nodeID) is still learning \(room) from its leader; retry")
            }
            if status.quorumLost {
                return ProtocolError(
                    .unavailable,
                    "room \(room) lost a majority of its replicas; an operator must recover it (chat-node rooms recover)",
                    passesSoon: false)
            }
            if !status.majorityAlive {
                return ProtocolError(.unavailable, "room \(room) has no reachable majority of its replicas here", passesSoon: false)
            }
            return ProtocolError(.unavailable, "room \(room) is choosing a leader; retry")
        default:
            return ProtocolError(.internal, "unexpected answer \(reply) for \(room)")
        }
    }

    /// The node a request for `room` from this node goes to: the leader it last found, the
    /// leader its own replica knows, or the first live member of the room's placement (which
    /// leads or knows the leader, and creates the room if nobody holds it). A first member whose
    /// replica is still empty (a restarted process, a new member) asks the next one instead.
    func target(for room: String) async throws -> String {
        let (cached, placement, live) = roster.withLock { roster in
            (leaders.withLock { $0[room] }, roster.placement(of: room), roster.live)
        }
        if let cached, live.contains(cached) { return cached }
        let (known, holds) = try await hubs.loop.submit { [host] in (host.knownLeader(room), host.holdsLog(room)) }.get()
        if let known { return known }
        let first = placement.first { live.contains($0) }
        if first == nodeID, holds == false, let next = placement.first(where: { live.contains($0) && $0 != nodeID }) {
            return next
        }
        guard let first else {
            throw ProtocolError(.unavailable, "no replica of room \(room) is reachable from \(nodeID)", passesSoon: false)
        }
        return first
    }

    /// Remembers where `room` was served (nil forgets it). The cache is a hint: at
    /// `maxCachedLeaders` rooms it is emptied (a lookup costs a redirect), so reads of many room
    /// names cannot grow it without bound.
    func found(leader: String?, of room: String) {
        leaders.withLock { leaders in
            if leader != nil, leaders.count >= Self.maxCachedLeaders, leaders[room] == nil { leaders.removeAll() }
            leaders[room] = leader
        }
    }

    static var maxCachedLeaders: Int { 50_000 }

    /// Makes sure this node has a replica of `room`, creating the room's group if this node is
    /// the first live member of its placement and no member holds it.
    ///
    /// The creator asks every other member of the placement (`probe`), offering the genesis its
    /// roster gives (the placement's current processes). If one holds the room, this node starts
    /// an empty replica and learns the room from its leader. It creates the group only if every
    /// member gossip says is alive answered, none of them holds it or computes another genesis,
    /// and a majority (this node included) agrees: then nobody can have acked a message of it,
    /// and the group starts with the history store's last seq as the seq to continue after (so
    /// no stored seq is given again). Otherwise the request waits (`unavailable`, passing).
    ///
    /// Two creators with the same roster make the same genesis (the same group created twice
    /// is the same group). Creators whose rosters differ (a join, leave or removal in flight)
    /// would make two groups; a member sees one roster at a time and disagrees with the other,
    /// and every live member must answer, so both succeed only if each creator's gossip also
    /// believes dead a member the other one counted: a partition during a roster change and
    /// the room's first request on both sides. Closing that too needs the roster itself agreed
    /// through a log (issue 10).
    ///
    /// With `create` false (a read), a room that would be created throws `RoomNotCreated` once the
    /// same answers show that nobody holds it: nothing is kept for it on any node.
    func ensureReplica(_ room: String, create: Bool = true) async throws {
        if replicas.withLock({ $0.contains(room) }) { return }
        if try await host.hasReplica(room).get() {
            replicas.withLock { _ = $0.insert(room) }
            return
        }
        let (placement, first, genesis, live) = roster.withLock {
            ($0.placement(of: room), $0.firstLive(of: room), $0.genesis(of: room), $0.live)
        }
        guard let first else {
            throw ProtocolError(.unavailable, "no replica of room \(room) is reachable from \(nodeID)", passesSoon: false)
        }
        guard first == nodeID else { throw NotLeaderError(hint: first) }
        let offered = genesis ?? []
        var answers: [String: InternalFrame.GroupProbeAnswer] = [:]
        await withTaskGroup(of: (String, InternalFrame.GroupProbeAnswer?).self) { group in
            for node in placement where node != nodeID {
                group.addTask { [probe] in (node, await probe(node, room, offered)) }
            }
            for await (node, answer) in group { answers[node] = answer }
        }
        if answers.values.contains(.holds) {
            host.open(room, genesis: nil, placement: placement)
            return
        }
        let agreeing = 1 + answers.values.filter { $0 == .agrees }.count
        let silent = placement.filter { $0 != nodeID && answers[$0] == nil && live.contains($0) }
        let disagreeing = answers.filter { $0.value == .disagrees }.keys.sorted()
        guard let genesis, disagreeing.isEmpty, silent.isEmpty, agreeing * 2 > placement.count else {
            let why =
                !disagreeing.isEmpty
                ? "\(disagreeing.joined(separator: ", ")) see other replicas for it (the roster is changing)"
                : !silent.isEmpty ? "\(silent.joined(separator: ", ")) did not answer" : "a majority of its replicas is not reachable"
            throw ProtocolError(.unavailable, "cannot create room \(room) yet: \(why); retry")
        }
        guard create else { throw RoomNotCreated() }
        guard try await host.replicaCount().get() < maxRooms else {
            ClusterMetrics.roomsRefused.increment()
            throw ProtocolError(
                .unavailable, "\(nodeID) holds its most rooms (\(maxRooms)); new rooms are refused until some are dropped",
                passesSoon: false)
        }
        let voters = genesis
        let stored: [ChatMessage]
        do {
            stored = try await history.load(room: room, limit: hubs.configuration.logCapacity)
        } catch {
            // Not retried here: a history store that is down seldom comes back within a request.
            throw ProtocolError(.unavailable, "cannot read \(room)'s history to start it: \(error)", passesSoon: false)
        }
        try await hubs.loop.submit { [hubs] in hubs.seed(room, with: stored) }.get()
        host.open(
            room, genesis: GroupConfig(voters: voters),
            stored: stored.map(GroupChatMessage.init), placement: placement)
        logger.debug("created the group of \(room): voters \(voters), after seq \(stored.last?.seq ?? 0)")
    }
}

/// A read found that no replica holds the room (and so nothing was ever acked in it); the
/// caller answers from the history store instead of creating the room.
struct RoomNotCreated: Error {}
