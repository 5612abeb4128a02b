import ChatCore

/// How a node that finds itself the owner of a room on its ring takes the room over. It never
/// starts ordering a room on its own while another node may hold the room's state: it asks the
/// next nodes of the room's preference list what they hold, and
///
/// - if one of them still ordered the room (a join: the old owner is the new owner's successor),
///   that node sealed it and shipped its state: a **hand-off**;
/// - else if a replica exists (its own or another's) whose owner is no longer a member, the best
///   replica is **promoted** (failover);
/// - else if nobody holds anything, the room is **loaded** from the history cache (a cold start);
/// - and while a member that may hold the room cannot be asked, or a replica's owner is still a
///   member that was not asked, it **retries** (or asks that owner too) instead of guessing.
///
/// The new ownership's epoch is one more than the highest epoch found.
public enum ClaimResolver {
    /// What a node answered about a room.
    public enum Answer: Sendable, Hashable {
        /// It ordered the room and has sealed it: this is the state, take over.
        case owned(RoomTransfer)
        /// It holds a replica whose owner is `owner`.
        case replica(owner: String, RoomTransfer)
        /// It holds nothing of the room.
        case none
        /// It could not be asked, or refused for now (its ring disagrees).
        case unreachable
    }

    public enum Decision: Sendable, Hashable {
        case handOff(RoomTransfer)
        case promote(RoomTransfer)
        case load(epoch: UInt64)
        /// Ask these members too (owners of replicas that were not asked), then decide again.
        case ask([String])
        case retry(String)
    }

    /// - Parameters:
    ///   - me: this node.
    ///   - own: a replica this node holds, with its owner.
    ///   - answers: per asked node.
    ///   - isMember: whether a node is on this node's ring.
    public static func resolve(
        me: String, own: (owner: String, transfer: RoomTransfer)?, answers: [String: Answer], isMember: (String) -> Bool
    ) -> Decision {
        if let (node, _) = answers.first(where: { $0.value == .unreachable && isMember($0.key) }) {
            return .retry("\(node) holds the room's state or may, and cannot be asked now")
        }
        var owned: [RoomTransfer] = []
        var replicas: [(owner: String, transfer: RoomTransfer)] = own.map { [$0] } ?? []
        for (node, answer) in answers.sorted(by: { $0.key < $1.key }) {
            switch answer {
            case .owned(let transfer): owned.append(transfer)
            case .replica(let owner, let transfer): replicas.append((owner, transfer))
            case .none, .unreachable: _ = node
            }
        }
        let everything = owned + replicas.map(\.transfer)
        let epoch = (everything.map(\.epoch).max() ?? 0) + 1
        if let best = best(of: owned + replicas.map(\.transfer)), !owned.isEmpty {
            return .handOff(with(best, epoch: epoch))
        }
        let unasked = Set(replicas.map(\.owner)).filter { $0 != me && isMember($0) && answers[$0] == nil }
        if !unasked.isEmpty { return .ask(unasked.sorted()) }
        if let best = best(of: replicas.map(\.transfer)) {
            return .promote(with(best, epoch: epoch))
        }
        return .load(epoch: epoch)
    }

    /// The most advanced state: the highest epoch, then the highest seq.
    static func best(of transfers: [RoomTransfer]) -> RoomTransfer? {
        transfers.max { ($0.epoch, $0.snapshot.lastSeq) < ($1.epoch, $1.snapshot.lastSeq) }
    }

    private static func with(_ transfer: RoomTransfer, epoch: UInt64) -> RoomTransfer {
        var copy = transfer
        copy.epoch = epoch
        return copy
    }
}
