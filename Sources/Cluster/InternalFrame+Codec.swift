import ChatCore
import NIOCore

/// Binary encoding of internal frames: a type byte, then the fields in order. Strings and byte
/// strings are a 4-byte big-endian length and the bytes; integers are big-endian; an optional
/// integer is a presence byte and the value.
extension InternalFrame {
    enum Tag: UInt8 {
        case hello = 1, challenge, proof
        case join = 10, leave, send, history, info, resubscribe, stats
        case joinReply = 20, sendReply, messagesReply, ok, error, statsReply
        case message = 30, presence, moved
        case identify = 50
        case group = 60, groupProbe, groupProbeReply
        case replicate = 40, replicateReply, claim, claimReply
    }

    /// Largest frame a node accepts (a reply of 1,000 messages of 4,000 characters fits).
    public static let maxFrameBytes = 32 * 1024 * 1024

    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .hello(let node, let nonce):
            buffer.writeInteger(Tag.hello.rawValue)
            buffer.writeField(node)
            buffer.writeField(nonce)
        case .challenge(let node, let nonce, let proof):
            buffer.writeInteger(Tag.challenge.rawValue)
            buffer.writeField(node)
            buffer.writeField(nonce)
            buffer.writeField(proof)
        case .proof(let proof):
            buffer.writeInteger(Tag.proof.rawValue)
            buffer.writeField(proof)
        case .join(let corr, let room, let user, let since):
            buffer.writeInteger(Tag.join.rawValue)
            buffer.writeInteger(corr)
            buffer.writeField(room)
            buffer.writeField(user)
            buffer.writeOptional(since)
        case .leave(let corr, let room, let user):
            buffer.writeInteger(Tag.leave.rawValue)
            buffer.writeInteger(corr)
            buffer.writeField(room)
            buffer.writeField(user)
        case .send(let corr, let room, let user, let id, let text):
            buffer.writeInteger(Tag.send.rawValue)
            buffer.writeInteger(corr)
            buffer.writeField(room)
            buffer.writeField(user)
            buffer.writeField(id)
            buffer.writeField(text)
        case .history(let corr, let room, let before, let since, let limit):
            buffer.writeInteger(Tag.history.rawValue)
            buffer.writeInteger(corr)
            buffer.writeField(room)
            buffer.writeOptional(before)
            buffer.writeOptional(since)
            buffer.writeInteger(limit)
        case .info(let corr, let room):
            buffer.writeInteger(Tag.info.rawValue)
            buffer.writeInteger(corr)
            buffer.writeField(room)
        case .resubscribe(let corr, let room, let since, let sessions):
            buffer.writeInteger(Tag.resubscribe.rawValue)
            buffer.writeInteger(corr)
            buffer.writeField(room)
            buffer.writeInteger(since)
            buffer.writeInteger(UInt32(sessions.count))
            for session in sessions {
                buffer.writeField(session.user)
                buffer.writeInteger(session.count)
            }
        case .stats(let corr):
            buffer.writeInteger(Tag.stats.rawValue)
            buffer.writeInteger(corr)
        case .statsReply(let corr, let rooms):
            buffer.writeInteger(Tag.statsReply.rawValue)
            buffer.writeInteger(corr)
            buffer.writeInteger(rooms)
        case .joinReply(let corr, let snapshot):
            buffer.writeInteger(Tag.joinReply.rawValue)
            buffer.writeInteger(corr)
            buffer.writeSnapshot(snapshot)
        case .sendReply(let corr, let seq, let duplicate):
            buffer.writeInteger(Tag.sendReply.rawValue)
            buffer.writeInteger(corr)
            buffer.writeInteger(seq)
            buffer.writeInteger(UInt8(duplicate ? 1 : 0))
        case .messagesReply(let corr, let snapshot):
            buffer.writeInteger(Tag.messagesReply.rawValue)
            buffer.writeInteger(corr)
            buffer.writeSnapshot(snapshot)
        case .ok(let corr):
            buffer.writeInteger(Tag.ok.rawValue)
            buffer.writeInteger(corr)
        case .error(let corr, let code, let message):
            buffer.writeInteger(Tag.error.rawValue)
            buffer.writeInteger(corr)
            buffer.writeField(code)
            buffer.writeField(message)
        case .message(let message):
            buffer.writeInteger(Tag.message.rawValue)
            buffer.writeMessage(message)
        case .presence(let event):
            buffer.writeInteger(Tag.presence.rawValue)
            buffer.writeField(event.room)
            buffer.writeInteger(UInt8(event.kind == .join ? 1 : 0))
            buffer.writeField(event.user)
            buffer.writeInteger(UInt32(event.members))
        case .moved(let room):
            buffer.writeInteger(Tag.moved.rawValue)
            buffer.writeField(room)
        case .replicate, .replicateReply, .claim, .claimReply:
            encodeReplication(into: &buffer)
        case .identify(let boot):
            buffer.writeInteger(Tag.identify.rawValue)
            buffer.writeField(boot)
        case .groupProbe(let corr, let room, let voters):
            buffer.writeInteger(Tag.groupProbe.rawValue)
            buffer.writeInteger(corr)
            buffer.writeField(room)
            buffer.writeReplicas(voters)
        case .groupProbeReply(let corr, let answer):
            buffer.writeInteger(Tag.groupProbeReply.rawValue)
            buffer.writeInteger(corr)
            buffer.writeInteger(answer.rawValue)
        case .group(let packets):
            buffer.writeInteger(Tag.group.rawValue)
            buffer.writeInteger(UInt32(packets.count))
            for packet in packets { buffer.writeGroupPacket(packet) }
        }
    }

    /// The frame's bytes, in a buffer sized for it up front (one allocation for the common frames).
    public var encoded: ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: estimatedSize)
        encode(into: &buffer)
        return buffer
    }

    /// A size that holds the frame without growing for messages and requests; larger frames
    /// (snapshots, transfers) grow as they are written.
    var estimatedSize: Int {
        switch self {
        case .message(let message):
            64 + message.room.utf8.count + message.id.utf8.count + message.user.utf8.count + message.text.utf8.count
        case .send(_, let room, let user, let id, let text):
            64 + room.utf8.count + user.utf8.count + id.utf8.count + text.utf8.count
        case .replicate(_, .append(let room, _, _, let messages, _)):
            96 + room.utf8.count
                + messages.reduce(0) { $0 + 64 + $1.room.utf8.count + $1.id.utf8.count + $1.user.utf8.count + $1.text.utf8.count }
        default:
            128
        }
    }

    /// Decodes one whole frame; throws on anything malformed, truncated or followed by extra bytes.
    public static func decode(_ buffer: inout ByteBuffer) throws -> InternalFrame {
        guard let raw: UInt8 = buffer.readInteger(), let tag = Tag(rawValue: raw) else {
            throw InternalFrameError(description: "unknown frame type")
        }
        let frame: InternalFrame
        switch tag {
        case .hello:
            frame = .hello(node: try buffer.readString(), nonce: try buffer.readBytesField())
        case .challenge:
            frame = .challenge(node: try buffer.readString(), nonce: try buffer.readBytesField(), proof: try buffer.readBytesField())
        case .proof:
            frame = .proof(try buffer.readBytesField())
        case .join:
            frame = .join(
                corr: try buffer.readU64(), room: try buffer.readString(), user: try buffer.readString(), since: try buffer.readOptional())
        case .leave:
            frame = .leave(corr: try buffer.readU64(), room: try buffer.readString(), user: try buffer.readString())
        case .send:
            frame = .send(
                corr: try buffer.readU64(), room: try buffer.readString(), user: try buffer.readString(), id: try buffer.readString(),
                text: try buffer.readString())
        case .history:
            frame = .history(
                corr: try buffer.readU64(), room: try buffer.readString(), before: try buffer.readOptional(),
                since: try buffer.readOptional(),
                limit: try buffer.readU32())
        case .info:
            frame = .info(corr: try buffer.readU64(), room: try buffer.readString())
        case .resubscribe:
            let corr = try buffer.readU64()
            let room = try buffer.readString()
            let since = try buffer.readU64()
            let count = try buffer.readU32()
            guard count <= 1_000_000 else { throw InternalFrameError(description: "too many sessions") }
            var sessions: [UserSessions] = []
            for _ in 0..<count { sessions.append(UserSessions(user: try buffer.readString(), count: try buffer.readU32())) }
            frame = .resubscribe(corr: corr, room: room, since: since, sessions: sessions)
        case .stats:
            frame = .stats(corr: try buffer.readU64())
        case .statsReply:
            frame = .statsReply(corr: try buffer.readU64(), rooms: try buffer.readU64())
        case .joinReply:
            frame = .joinReply(corr: try buffer.readU64(), snapshot: try buffer.readSnapshot())
        case .sendReply:
            frame = .sendReply(corr: try buffer.readU64(), seq: try buffer.readU64(), duplicate: try buffer.readU8() == 1)
        case .messagesReply:
            frame = .messagesReply(corr: try buffer.readU64(), snapshot: try buffer.readSnapshot())
        case .ok:
            frame = .ok(corr: try buffer.readU64())
        case .error:
            frame = .error(corr: try buffer.readU64(), code: try buffer.readString(), message: try buffer.readString())
        case .message:
            frame = .message(try buffer.readMessage())
        case .presence:
            let room = try buffer.readString()
            let kind: PresenceEvent.Kind = try buffer.readU8() == 1 ? .join : .leave
            frame = .presence(PresenceEvent(room: room, kind: kind, user: try buffer.readString(), members: Int(try buffer.readU32())))
        case .moved:
            frame = .moved(room: try buffer.readString())
        case .replicate, .replicateReply, .claim, .claimReply:
            frame = try decodeReplication(tag, from: &buffer)
        case .identify:
            frame = .identify(boot: try buffer.readString())
        case .groupProbe:
            frame = .groupProbe(corr: try buffer.readU64(), room: try buffer.readString(), voters: try buffer.readReplicas())
        case .groupProbeReply:
            let corr = try buffer.readU64()
            guard let answer = InternalFrame.GroupProbeAnswer(rawValue: try buffer.readU8()) else {
                throw InternalFrameError(description: "unknown probe answer")
            }
            frame = .groupProbeReply(corr: corr, answer)
        case .group:
            let count = try buffer.readU32()
            guard count <= ByteBuffer.maxGroupEntries else { throw InternalFrameError(description: "too many group packets") }
            frame = .group(try (0..<count).map { _ in try buffer.readGroupPacket() })
        }
        guard buffer.readableBytes == 0 else { throw InternalFrameError(description: "trailing bytes after frame") }
        return frame
    }
}

extension ByteBuffer {
    mutating func writeField(_ string: String) {
        let lengthIndex = writerIndex
        writeInteger(UInt32(0))
        let written = writeString(string)
        setInteger(UInt32(written), at: lengthIndex)
    }

    mutating func writeField(_ bytes: [UInt8]) {
        writeInteger(UInt32(bytes.count))
        writeBytes(bytes)
    }

    mutating func writeOptional(_ value: UInt64?) {
        if let value {
            writeInteger(UInt8(1))
            writeInteger(value)
        } else {
            writeInteger(UInt8(0))
        }
    }

    mutating func writeMessage(_ message: ChatMessage) {
        writeField(message.room)
        writeInteger(message.seq)
        writeField(message.id)
        writeField(message.user)
        writeField(message.text)
        writeInteger(message.ts)
    }

    mutating func writeSnapshot(_ snapshot: RoomSnapshot) {
        writeInteger(snapshot.seq)
        writeInteger(UInt8(snapshot.truncated ? 1 : 0))
        writeInteger(UInt32(snapshot.messages.count))
        for message in snapshot.messages { writeMessage(message) }
        writeInteger(UInt32(snapshot.members.count))
        for member in snapshot.members { writeField(member) }
    }

    mutating func readU8() throws -> UInt8 {
        guard let value: UInt8 = readInteger() else { throw InternalFrameError(description: "truncated frame") }
        return value
    }

    mutating func readU32() throws -> UInt32 {
        guard let value: UInt32 = readInteger() else { throw InternalFrameError(description: "truncated frame") }
        return value
    }

    mutating func readU64() throws -> UInt64 {
        guard let value: UInt64 = readInteger() else { throw InternalFrameError(description: "truncated frame") }
        return value
    }

    mutating func readString() throws -> String {
        let length = Int(try readU32())
        guard let string = readString(length: length) else { throw InternalFrameError(description: "truncated string") }
        return string
    }

    mutating func readBytesField() throws -> [UInt8] {
        let length = Int(try readU32())
        guard length <= 1024, let bytes = readBytes(length: length) else { throw InternalFrameError(description: "bad byte field") }
        return bytes
    }

    mutating func readOptional() throws -> UInt64? {
        try readU8() == 1 ? try readU64() : nil
    }

    mutating func readMessage() throws -> ChatMessage {
        ChatMessage(
            room: try readString(), seq: try readU64(), id: try readString(), user: try readString(), text: try readString(),
            ts: Int64(bitPattern: try readU64()))
    }

    mutating func readSnapshot() throws -> RoomSnapshot {
        let seq = try readU64()
        let truncated = try readU8() == 1
        let count = try readU32()
        guard count <= 100_000 else { throw InternalFrameError(description: "too many messages") }
        var messages: [ChatMessage] = []
        messages.reserveCapacity(Int(count))
        for _ in 0..<count { messages.append(try readMessage()) }
        let memberCount = try readU32()
        guard memberCount <= 1_000_000 else { throw InternalFrameError(description: "too many members") }
        var members: [String] = []
        for _ in 0..<memberCount { members.append(try readString()) }
        return RoomSnapshot(seq: seq, messages: messages, members: members, truncated: truncated)
    }
}
