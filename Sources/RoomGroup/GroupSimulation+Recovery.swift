/// The operator of the group simulator: after a round heals, every room whose group lost a
/// majority of its voters for good is recovered from the running replica that knows the most to be
/// committed, and the history store, as `chat-node rooms recover` does; the checker then verifies that nothing below
/// the reported range was lost and that no seq of the skipped range is ever reused.
extension GroupSimulation {
    /// Returns how many rooms it recovered.
    @discardableResult
    func recoverLostGroups() -> Int {
        var recovered = 0
        for room in rooms where !quorumHolds(room) {
            let survivors = nodes.filter { $0.state == .running }.compactMap { node in
                node.groups[room].map { (node, $0) }
            }
            guard
                let (node, group) = survivors.filter({ $0.1.lastIndex > 0 }).max(by: {
                    $0.1.committedIndex < $1.1.committedIndex
                }), group.status.quorumLost
            else { continue }
            if case .recovered = recover(room, on: node.name) { recovered += 1 }
        }
        return recovered
    }

    /// Runs `rooms recover` for `room` on node `name` now; returns the replica's answer.
    @discardableResult
    public func recover(_ room: String, on name: String) -> GroupReply? {
        let node = node(name)
        guard node.state == .running, let group = node.groups[room] else { return nil }
        let request = nextRequest
        nextRequest += 1
        operatorRequests[request] = room
        lastOperatorReply = nil
        let stored = (store[room] ?? [:]).values.filter { $0.seq > group.status.committedSeq }
        trace?("\(now / 1_000_000) ms recover \(room) on \(node.replica) with \(stored.count) stored messages")
        step(node, room: room, .recover(request: request, store: stored, skip: configuration.recoverySkip))
        return lastOperatorReply
    }

    func recovered(_ room: String, by group: RoomGroup, reply: GroupReply) {
        trace?("\(now / 1_000_000) ms recover \(room): \(reply)")
        lastOperatorReply = reply
        guard case .recovered(let lostAfter, let resumeAfter) = reply else { return }
        recoveries += 1
        checker.recovered(room, from: group, lostAfter: lostAfter, resumeAfter: resumeAfter)
    }
}
