/// Which users have sessions in the room on which node: part of the room's replicated state.
///
/// The leader turns what the nodes tell it (a node's users, as its sessions join, leave or
/// subscribe again) into `presence` log entries, so presence survives the leader: a new leader
/// knows whose users were on a node that died with its predecessor, and removes them through
/// the log, so every client that saw such a user join sees the user leave (DESIGN invariant 4).
/// Session counts stay with the leader (a second tab of the same user changes nothing here).
public struct PresenceTable: Sendable, Hashable {
    /// The users present through each node (no empty sets).
    public private(set) var byNode: [String: Set<String>]

    public init(_ byNode: [String: Set<String>] = [:]) {
        self.byNode = byNode.filter { !$0.value.isEmpty }
    }

    public func users(at node: String) -> Set<String> { byNode[node] ?? [] }

    /// The nodes with users, sorted.
    public var nodes: [String] { byNode.keys.sorted() }

    /// For each present user, through how many nodes.
    public var perUser: [String: Int] {
        var counts: [String: Int] = [:]
        for users in byNode.values { for user in users { counts[user, default: 0] += 1 } }
        return counts
    }

    /// The changes `update` makes to `node`'s users (none when it changes nothing).
    public func changes(node: String, _ update: PresenceUpdate) -> [PresenceChange] {
        switch update {
        case .join(let user):
            users(at: node).contains(user) ? [] : [PresenceChange(node: node, user: user, present: true)]
        case .leave(let user):
            users(at: node).contains(user) ? [PresenceChange(node: node, user: user, present: false)] : []
        case .exactly(let wanted):
            changes(node: node, to: wanted)
        }
    }

    /// The changes that make `node`'s users exactly `wanted` (leaves first, each sorted).
    public func changes(node: String, to wanted: Set<String>) -> [PresenceChange] {
        let current = users(at: node)
        let leaves = current.subtracting(wanted).sorted().map { PresenceChange(node: node, user: $0, present: false) }
        let joins = wanted.subtracting(current).sorted().map { PresenceChange(node: node, user: $0, present: true) }
        return leaves + joins
    }

    /// Applies `changes` in order; returns the ones that changed something.
    @discardableResult
    public mutating func apply(_ changes: [PresenceChange]) -> [PresenceChange] {
        var effective: [PresenceChange] = []
        for change in changes {
            if change.present {
                guard byNode[change.node, default: []].insert(change.user).inserted else { continue }
            } else {
                guard byNode[change.node]?.remove(change.user) != nil else { continue }
                if byNode[change.node]?.isEmpty == true { byNode[change.node] = nil }
            }
            effective.append(change)
        }
        return effective
    }
}

/// What a node says about its users in a room: one arrived, one left, or its whole set (when
/// it subscribes again, or empty when the node is gone).
public enum PresenceUpdate: Sendable, Hashable {
    case join(String)
    case leave(String)
    case exactly(Set<String>)
}

/// One user arriving at or leaving one node's presence in a room.
public struct PresenceChange: Sendable, Hashable {
    public var node: String
    public var user: String
    public var present: Bool

    public init(node: String, user: String, present: Bool) {
        self.node = node
        self.user = user
        self.present = present
    }
}
