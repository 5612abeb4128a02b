import ChatCore
import RoomGroup

/// Presence of a room whose group replicates it (`OwnedRoom.presenceSink` set): the leader's
/// sessions are soft state, and what clients see follows the committed log.
extension OwnedRoom {
    /// Presence is kept per node *process*: a node that restarted has none of its earlier
    /// process's users, and a leader that learns of the restart removes them at once.
    static func presenceKey(node: String, boot: String) -> String { "\(node)@\(boot)" }

    /// The node and boot id of a presence key (boot ids never contain "@").
    static func presenceNode(_ key: String) -> (node: String, boot: String) {
        guard let at = key.lastIndex(of: "@") else { return (key, "") }
        return (String(key[..<at]), String(key[key.index(after: at)...]))
    }

    /// Tells the group that the process behind `key` has no users here any more.
    func dropPresence(_ key: String) {
        presenceSink?(key, .exactly([]))
    }

    /// Sets the leader's count of `user`'s sessions on `node`, nothing else.
    func setSoftSessions(node: String, user: String, count: UInt32) {
        sessions[node, default: [:]][user] = count == 0 ? nil : count
        if sessions[node]?.isEmpty == true {
            sessions[node] = nil
            boots[node] = nil
        }
    }

    /// A node subscribed again with all its sessions: they replace what this leader had of it,
    /// and the group hears the node's whole set of users at once.
    func resubscribeReplicated(node: String, boot: String, wanted: [String: UInt32]) {
        if let presenceSink {
            sessions[node] = nil
            boots[node] = nil
            for (user, count) in wanted where count > 0 { setSoftSessions(node: node, user: user, count: count) }
            if sessions[node] != nil { boots[node] = boot }
            presenceSink(Self.presenceKey(node: node, boot: boot), .exactly(Set(wanted.filter { $0.value > 0 }.keys)))
        }
    }

    /// Presence changes the group committed: a user's first node brings a `join` event to
    /// every subscribed node, its last a `leave` (members counts distinct users).
    func applyCommittedPresence(_ changes: [PresenceChange]) {
        for change in committedPresence.apply(changes) {
            let actions = change.present ? machine.join(user: change.user) : machine.leave(user: change.user)
            for case .presence(let event) in actions { push(.presence(event)) }
        }
    }

    /// Presence as a snapshot this replica installed says: no events (nobody subscribes to a
    /// replica that is catching up).
    func resetCommittedPresence(_ table: PresenceTable) {
        committedPresence = table
        machine.setMembers(table.perUser)
    }
}
