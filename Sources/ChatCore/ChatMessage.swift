/// One chat message as the room's owner sequenced it.
///
/// `seq` is assigned by the owner of the room and is the only order that exists: it starts at 1
/// and rises by exactly one per accepted message. `ts` is the owner's clock in milliseconds since
/// the epoch, never lower than the previous message's `ts` in the same room.
public struct ChatMessage: Sendable, Hashable, Codable {
    public var room: String
    public var seq: UInt64
    public var id: String
    public var user: String
    public var text: String
    public var ts: Int64

    public init(room: String, seq: UInt64, id: String, user: String, text: String, ts: Int64) {
        self.room = room
        self.seq = seq
        self.id = id
        self.user = user
        self.text = text
        self.ts = ts
    }
}

/// A membership change in a room, as reported to its members.
public struct PresenceEvent: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case join
        case leave
    }

    public var room: String
    public var kind: Kind
    public var user: String
    /// Distinct users in the room after the change.
    public var members: Int

    public init(room: String, kind: Kind, user: String, members: Int) {
        self.room = room
        self.kind = kind
        self.user = user
        self.members = members
    }
}
