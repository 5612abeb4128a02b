import ChatCore
import NIOCore
import RoomGroup

/// A frame on an internal link between two nodes. Links are length-prefixed TCP streams (the
/// 4-byte prefix is added by `LengthFieldPrepender`); this is what one frame holds.
///
/// A link is opened by the node that wants to talk to a room's owner (the *subscriber* side).
/// Requests carry a correlation id that the owner's reply repeats. The owner also pushes room
/// traffic (`message`, `presence`, `moved`) on the same link, in the same order as its replies,
/// so a `joinReply` always comes before the messages that follow the join's snapshot.
public enum InternalFrame: Sendable, Hashable {
    // Handshake (see `LinkHandshake`).
    case hello(node: String, nonce: [UInt8])
    case challenge(node: String, nonce: [UInt8], proof: [UInt8])
    case proof([UInt8])

    // Requests from a subscriber node to a room's owner.
    case join(corr: UInt64, room: String, user: String, since: UInt64?)
    case leave(corr: UInt64, room: String, user: String)
    case send(corr: UInt64, room: String, user: String, id: String, text: String)
    case history(corr: UInt64, room: String, before: UInt64?, since: UInt64?, limit: UInt32)
    case info(corr: UInt64, room: String)
    /// Subscribe this node again (after the owner changed or the link dropped), with the last
    /// seq it delivered and the sessions it has in the room.
    case resubscribe(corr: UInt64, room: String, since: UInt64, sessions: [UserSessions])
    /// How many rooms the peer orders (for `/cluster`).
    case stats(corr: UInt64)

    // Replies from the owner.
    case joinReply(corr: UInt64, snapshot: RoomSnapshot)
    case sendReply(corr: UInt64, seq: UInt64, duplicate: Bool)
    case messagesReply(corr: UInt64, snapshot: RoomSnapshot)
    case ok(corr: UInt64)
    case error(corr: UInt64, code: String, message: String)
    case statsReply(corr: UInt64, rooms: UInt64)

    // Between owners and their successors (see `RoomPeers`, `ReplicaRules`, `ClaimResolver`).
    /// Replication from a room's owner to its successor (carries the owner's epoch).
    case replicate(corr: UInt64, ReplicationRequest)
    case replicateReply(corr: UInt64, ReplicationReply)
    /// A node taking a room over asks what the receiver holds of it.
    case claim(corr: UInt64, room: String)
    case claimReply(corr: UInt64, ClaimResolver.Answer)

    // Pushes from the owner to a subscribed node.
    case message(ChatMessage)
    case presence(PresenceEvent)
    /// The owner no longer orders this room: subscribe at the ring's owner again.
    case moved(room: String)

    /// The first frame a node sends on a link it opened: the boot id of its process. Sessions
    /// the owner registers for that link carry it, so requests still in flight from an earlier
    /// process of a restarted node are told apart from the new process's.
    case identify(boot: String)

    /// Packets of rooms' consensus groups (`RoomGroup`), pushed between replicas: everything one
    /// node's groups had for the other in one event-loop tick (`GroupHost`). Not yet sent by
    /// nodes unless they run in groups mode (`ClusterConfiguration.replicationFactor`).
    case group([GroupPacket])
    /// A node about to create a room's group asks a member of the room's placement whether it
    /// holds anything of the room (`GroupRooms`): a room some replica holds is never created anew.
    /// `voters` is the genesis the creator would give it, which the member checks against its own
    /// view of the roster.
    case groupProbe(corr: UInt64, room: String, voters: [ReplicaID])
    case groupProbeReply(corr: UInt64, GroupProbeAnswer)

    /// A member's answer to a creator's `groupProbe`.
    public enum GroupProbeAnswer: UInt8, Sendable, Hashable {
        /// It holds nothing of the room and would make the same genesis.
        case agrees = 0
        /// It holds the room: nobody creates it; the asker learns it from its leader.
        case holds = 1
        /// It holds nothing, but its roster gives the room other replicas (a join, leave or
        /// removal has not reached both yet): nobody creates the room until they agree.
        case disagrees = 2
    }

    /// The correlation id of a reply, nil for other frames.
    public var replyCorrelation: UInt64? {
        switch self {
        case .joinReply(let corr, _), .sendReply(let corr, _, _), .messagesReply(let corr, _), .ok(let corr),
            .error(let corr, _, _), .statsReply(let corr, _), .replicateReply(let corr, _), .claimReply(let corr, _),
            .groupProbeReply(let corr, _):
            corr
        default: nil
        }
    }
}

/// How many sessions a user has in a room on one node (presence is counted per session).
public struct UserSessions: Sendable, Hashable {
    public var user: String
    public var count: UInt32

    public init(user: String, count: UInt32) {
        self.user = user
        self.count = count
    }
}

/// What an owner tells a node about a room: its latest seq, some messages, and its members.
public struct RoomSnapshot: Sendable, Hashable {
    public var seq: UInt64
    public var messages: [ChatMessage]
    public var members: [String]
    public var truncated: Bool

    public init(seq: UInt64, messages: [ChatMessage], members: [String], truncated: Bool) {
        self.seq = seq
        self.messages = messages
        self.members = members
        self.truncated = truncated
    }
}

/// The frame could not be decoded: the link is closed.
public struct InternalFrameError: Error, Hashable, CustomStringConvertible {
    public var description: String
}
