import ChatCore
import History
import Logging
import Metrics
import NIOCore
import RoomGroup

/// What operators ask of this node's replicas (`chat-node rooms recover`, `/cluster`, metrics).
extension GroupRooms {
    /// The result of a recovery: this replica kept the room through `lostAfter`; seqs after it
    /// through `resumeAfter` will never name a message (messages a lost majority acked there
    /// may be lost); new messages follow `resumeAfter`.
    public struct Recovery: Sendable, Hashable {
        public var lostAfter: UInt64
        public var resumeAfter: UInt64
    }

    /// Rebuilds `room`'s group from this node's replica (`RoomGroup.recover`, which holds the
    /// rules and the refusals): its committed log, then what the history cache holds after it,
    /// then `skip` unused seqs. Throws `OperatorRefusal` with the reason when refused.
    public func recover(room: String, skip: UInt64) async throws -> Recovery {
        guard let status = await status(of: room) else {
            throw OperatorRefusal(.notFound, "\(nodeID) holds no replica of room \(room)")
        }
        let stored: [ChatMessage]
        do {
            stored = try await history.load(room: room, limit: hubs.configuration.logCapacity)
        } catch {
            throw OperatorRefusal(.unavailable, "cannot read \(room)'s history cache: \(error)")
        }
        let after = stored.filter { $0.seq > status.committedSeq }.map(GroupChatMessage.init)
        switch try await host.recover(room: room, store: after, skip: skip).get() {
        case .recovered(let lostAfter, let resumeAfter):
            logger.warning(
                "recovered room \(room) from this replica: seqs \(lostAfter + 1)…\(resumeAfter) skipped (messages acked there may be lost)")
            return Recovery(lostAfter: lostAfter, resumeAfter: resumeAfter)
        case .refused(let reason):
            throw OperatorRefusal(.conflict, reason)
        default:
            throw OperatorRefusal(.unavailable, "\(nodeID)'s replica of \(room) did not answer; retry")
        }
    }

    /// Stops every replica here: no timer fires and no packet is handled any more, and waiting
    /// requests are answered `unavailable` (the node was removed and is about to exit).
    func close() async {
        try? await host.close().get()
    }

    /// Every replica this node holds, with its status.
    public func statuses() async -> [String: GroupStatus] {
        (try? await host.statuses().get()) ?? [:]
    }

    /// How this node's replicas stand, for `/cluster` and metrics (which it updates).
    public struct Summary: Sendable {
        public var replicas: Int
        public var leading: Int
        /// Rooms whose group has no live majority as this node sees it: writes answer `unavailable`.
        public var withoutMajority: [String]
        /// Rooms whose majority is gone for good: they wait for `chat-node rooms recover`.
        public var quorumLost: [String]
    }

    public func summary() async -> Summary {
        let statuses = await statuses()
        let summary = Summary(
            replicas: statuses.count, leading: statuses.values.filter { $0.role == .leader }.count,
            withoutMajority: statuses.filter { !$0.value.majorityAlive }.keys.sorted(),
            quorumLost: statuses.filter { $0.value.quorumLost }.keys.sorted())
        ClusterMetrics.groupReplicas.record(summary.replicas)
        ClusterMetrics.groupsWithoutMajority.record(summary.withoutMajority.count)
        ClusterMetrics.groupsQuorumLost.record(summary.quorumLost.count)
        return summary
    }
}

/// An operator request (`/admin/…`) was refused, with why.
public struct OperatorRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Nothing by that name here (HTTP 404).
        case notFound = "not_found"
        /// Refused in this state (HTTP 409): the reason says what would make it possible.
        case conflict
        /// Cannot be done right now (HTTP 503).
        case unavailable
    }

    public var kind: Kind
    public var reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { reason }
}

extension GroupChatMessage {
    /// A message as the history cache holds it.
    init(_ message: ChatMessage) {
        self.init(seq: message.seq, user: message.user, id: message.id, text: message.text, ts: message.ts)
    }
}

extension ChatMessage {
    /// A committed message of `room`, as clients and the history cache see it.
    init(room: String, _ message: GroupChatMessage) {
        self.init(room: room, seq: message.seq, id: message.id, user: message.user, text: message.text, ts: message.ts)
    }
}
