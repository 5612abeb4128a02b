import ChatCore

/// What a room's orderer does with a client request once it may answer (after the read barrier,
/// on the room's lock or event loop). Shared by `RoomOwner` (successor replication) and
/// `GroupRooms` (majority groups), which differ only in how they decide that they may answer.
extension OwnedRoom {
    /// A session of `user` on the subscriber's node joins. The joiner's `joined` (`reply`) comes
    /// first, then everyone (the joiner too) hears the join.
    func join(user: String, since: UInt64?, subscriber: any RoomSubscriber, reply: (RoomSnapshot) -> Void) {
        let (messages, truncated): ([ChatMessage], Bool) =
            if let since {
                machine.messages(since: since)
            } else {
                (machine.latest(limit: ClientFrame.defaultHistoryLimit), false)
            }
        subscribers[subscriber.nodeID] = subscriber
        let node = subscriber.nodeID
        let boot = subscriber.boot
        let current = boots[node] == boot ? sessions[node]?[user] ?? 0 : 0
        let events = setSessions(node: node, boot: boot, user: user, count: current + 1, pushNow: false)
        var joined = snapshot(messages: messages, truncated: truncated)
        // With replicated presence the joiner's own arrival commits after this reply: it is
        // in the room already, so its list names it.
        if presenceSink != nil, !joined.members.contains(user) { joined.members = (joined.members + [user]).sorted() }
        reply(joined)
        for event in events { push(.presence(event)) }
    }

    /// A session of `user` on `node` leaves. The node stays subscribed while it has sessions.
    func leave(user: String, node: String) {
        let current = sessions[node]?[user] ?? 0
        guard current > 0 else { return }
        setSessions(node: node, boot: boots[node] ?? "", user: user, count: current - 1)
        if sessions[node] == nil { subscribers[node] = nil }
    }

    /// Subscribes a node again with the sessions it has, and replies with what it missed.
    func resubscribe(since: UInt64, sessions wantedSessions: [UserSessions], subscriber: any RoomSubscriber, reply: (RoomSnapshot) -> Void)
    {
        let node = subscriber.nodeID
        subscribers[node] = subscriber
        var wanted: [String: UInt32] = [:]
        for session in wantedSessions { wanted[session.user, default: 0] += session.count }
        let boot = subscriber.boot
        if presenceSink != nil {
            resubscribeReplicated(node: node, boot: boot, wanted: wanted)
        } else {
            for user in Set(wanted.keys).union(sessions[node]?.keys ?? [:].keys).sorted() {
                setSessions(node: node, boot: boot, user: user, count: wanted[user] ?? 0)
            }
        }
        if sessions[node] == nil { subscribers[node] = nil }
        let missed = machine.messages(since: since)
        reply(snapshot(messages: missed.messages, truncated: missed.truncated))
    }

    /// A page of the room: the first `limit` above `since`, or the `limit` just below `before`.
    func page(before: UInt64?, since: UInt64?, limit: Int) -> RoomSnapshot {
        let page =
            if let since {
                machine.messages(since: since, limit: limit)
            } else {
                (machine.messages(before: before, limit: limit), false)
            }
        return snapshot(messages: page.0, truncated: page.1, members: false)
    }

    /// A subscriber may register sessions only while its link is open and it is the node's
    /// current process (`currentBoot`, "" when unknown): a request still in flight from an
    /// earlier process of a restarted node must not bring that process's users back. Nor may a
    /// request still in flight on an older link of the node (one that is closing: its node has
    /// already opened a new one) replace the subscription the node made on its newer link: the
    /// old link's close would then unsubscribe the node while it believes it is subscribed, and
    /// its clients would get nothing more.
    func checkCurrent(_ subscriber: any RoomSubscriber, currentBoot: String) throws {
        guard subscriber.isActive else { throw ProtocolError(.unavailable, "the link closed; retry") }
        if let registered = subscribers[subscriber.nodeID], registered !== subscriber, registered.isActive,
            registered.link > subscriber.link
        {
            throw ProtocolError(.unavailable, "a newer link of \(subscriber.nodeID) is subscribed; retry on it")
        }
        guard currentBoot.isEmpty || subscriber.boot == currentBoot else {
            throw ProtocolError(.unavailable, "\(subscriber.nodeID) restarted; retry from its current process")
        }
    }
}
