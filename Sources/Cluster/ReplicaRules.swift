/// The rules by which a node accepts a room's replication from its owner. They are what keeps
/// two nodes from ever ordering the same room at once: an owner acks nothing its successor has
/// not accepted, and a successor accepts only from the node that owns the room on its own ring,
/// under an epoch no older than the one it holds. A stale owner (paused, partitioned, or behind
/// on the ring) therefore cannot commit: it is told `stale` and steps down.
public enum ReplicaRules {
    public enum Verdict: Sendable, Hashable {
        /// Apply it and confirm.
        case accept
        /// The replica cannot continue from what it holds: send the whole state.
        case resync
        /// The sender is not (or no longer) the room's owner: it must stop ordering the room.
        case stale(String)
    }

    /// What the replica holds of the room: its epoch and last seq.
    public struct Held: Sendable, Hashable {
        public var epoch: UInt64
        public var lastSeq: UInt64

        public init(epoch: UInt64, lastSeq: UInt64) {
            self.epoch = epoch
            self.lastSeq = lastSeq
        }
    }

    /// An append of messages after `baseSeq` from `sender` under `epoch`.
    /// - Parameters:
    ///   - ringOwner: the room's owner on the replica's ring.
    ///   - ordersItself: the replica orders (or is taking over) this room itself.
    public static func append(
        held: Held?, sender: String, epoch: UInt64, baseSeq: UInt64, ringOwner: String?, ordersItself: Bool
    ) -> Verdict {
        if let refusal = refusal(held: held, sender: sender, epoch: epoch, ringOwner: ringOwner, ordersItself: ordersItself) {
            return refusal
        }
        guard let held, held.epoch == epoch, held.lastSeq == baseSeq else { return .resync }
        return .accept
    }

    /// The whole state from `sender` under `epoch` (it replaces what the replica holds).
    public static func sync(held: Held?, sender: String, epoch: UInt64, ringOwner: String?, ordersItself: Bool) -> Verdict {
        refusal(held: held, sender: sender, epoch: epoch, ringOwner: ringOwner, ordersItself: ordersItself) ?? .accept
    }

    private static func refusal(held: Held?, sender: String, epoch: UInt64, ringOwner: String?, ordersItself: Bool) -> Verdict? {
        if ordersItself { return .stale("the replica orders this room itself") }
        if ringOwner != sender { return .stale("\(sender) does not own the room on the replica's ring (\(ringOwner ?? "none") does)") }
        if let held, epoch < held.epoch { return .stale("epoch \(epoch) is older than \(held.epoch)") }
        return nil
    }
}
