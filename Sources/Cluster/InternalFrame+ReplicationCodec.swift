import ChatCore
import NIOCore

/// Binary encoding of the frames between owners and successors (same conventions as the rest
/// of `InternalFrame`: a tag byte, big-endian integers, length-prefixed strings).
extension InternalFrame {
    func encodeReplication(into buffer: inout ByteBuffer) {
        switch self {
        case .replicate(let corr, let request):
            buffer.writeInteger(Tag.replicate.rawValue)
            buffer.writeInteger(corr)
            switch request {
            case .append(let room, let epoch, let baseSeq, let messages, let sessions):
                buffer.writeInteger(UInt8(0))
                buffer.writeField(room)
                buffer.writeInteger(epoch)
                buffer.writeInteger(baseSeq)
                buffer.writeMessages(messages)
                if let sessions {
                    buffer.writeInteger(UInt8(1))
                    buffer.writeSessions(sessions)
                } else {
                    buffer.writeInteger(UInt8(0))
                }
            case .sync(let transfer):
                buffer.writeInteger(UInt8(1))
                buffer.writeTransfer(transfer)
            case .handOff(let transfer):
                buffer.writeInteger(UInt8(2))
                buffer.writeTransfer(transfer)
            }
        case .replicateReply(let corr, let reply):
            buffer.writeInteger(Tag.replicateReply.rawValue)
            buffer.writeInteger(corr)
            switch reply {
            case .ack(let seq):
                buffer.writeInteger(UInt8(0))
                buffer.writeInteger(seq)
            case .resync:
                buffer.writeInteger(UInt8(1))
            case .stale(let reason):
                buffer.writeInteger(UInt8(2))
                buffer.writeField(reason)
            }
        case .claim(let corr, let room):
            buffer.writeInteger(Tag.claim.rawValue)
            buffer.writeInteger(corr)
            buffer.writeField(room)
        case .claimReply(let corr, let answer):
            buffer.writeInteger(Tag.claimReply.rawValue)
            buffer.writeInteger(corr)
            switch answer {
            case .owned(let transfer):
                buffer.writeInteger(UInt8(0))
                buffer.writeTransfer(transfer)
            case .replica(let owner, let transfer):
                buffer.writeInteger(UInt8(1))
                buffer.writeField(owner)
                buffer.writeTransfer(transfer)
            case .none:
                buffer.writeInteger(UInt8(2))
            case .unreachable:
                buffer.writeInteger(UInt8(3))
            }
        default:
            preconditionFailure("not a replication frame")
        }
    }

    static func decodeReplication(_ tag: Tag, from buffer: inout ByteBuffer) throws -> InternalFrame {
        let corr = try buffer.readU64()
        switch tag {
        case .replicate:
            switch try buffer.readU8() {
            case 0:
                let room = try buffer.readString()
                let epoch = try buffer.readU64()
                let baseSeq = try buffer.readU64()
                let messages = try buffer.readMessages()
                let sessions = try buffer.readU8() == 1 ? try buffer.readSessions() : nil
                return .replicate(corr: corr, .append(room: room, epoch: epoch, baseSeq: baseSeq, messages: messages, sessions: sessions))
            case 1:
                return .replicate(corr: corr, .sync(try buffer.readTransfer()))
            case 2:
                return .replicate(corr: corr, .handOff(try buffer.readTransfer()))
            default:
                throw InternalFrameError(description: "unknown replication request")
            }
        case .replicateReply:
            switch try buffer.readU8() {
            case 0: return .replicateReply(corr: corr, .ack(seq: try buffer.readU64()))
            case 1: return .replicateReply(corr: corr, .resync)
            case 2: return .replicateReply(corr: corr, .stale(try buffer.readString()))
            default: throw InternalFrameError(description: "unknown replication reply")
            }
        case .claim:
            return .claim(corr: corr, room: try buffer.readString())
        case .claimReply:
            switch try buffer.readU8() {
            case 0: return .claimReply(corr: corr, .owned(try buffer.readTransfer()))
            case 1: return .claimReply(corr: corr, .replica(owner: try buffer.readString(), try buffer.readTransfer()))
            case 2: return .claimReply(corr: corr, .none)
            case 3: return .claimReply(corr: corr, .unreachable)
            default: throw InternalFrameError(description: "unknown claim answer")
            }
        default:
            throw InternalFrameError(description: "not a replication frame")
        }
    }
}

extension ByteBuffer {
    mutating func writeMessages(_ messages: [ChatMessage]) {
        writeInteger(UInt32(messages.count))
        for message in messages { writeMessage(message) }
    }

    mutating func readMessages() throws -> [ChatMessage] {
        let count = try readU32()
        guard count <= 100_000 else { throw InternalFrameError(description: "too many messages") }
        var messages: [ChatMessage] = []
        messages.reserveCapacity(Int(count))
        for _ in 0..<count { messages.append(try readMessage()) }
        return messages
    }

    mutating func writeSessions(_ sessions: [NodeSessions]) {
        writeInteger(UInt32(sessions.count))
        for session in sessions {
            writeField(session.node)
            writeField(session.user)
            writeInteger(session.count)
            writeField(session.boot)
        }
    }

    mutating func readSessions() throws -> [NodeSessions] {
        let count = try readU32()
        guard count <= 1_000_000 else { throw InternalFrameError(description: "too many sessions") }
        var sessions: [NodeSessions] = []
        for _ in 0..<count {
            sessions.append(NodeSessions(node: try readString(), user: try readString(), count: try readU32(), boot: try readString()))
        }
        return sessions
    }

    mutating func writeTransfer(_ transfer: RoomTransfer) {
        writeField(transfer.room)
        writeInteger(transfer.epoch)
        writeInteger(transfer.snapshot.lastSeq)
        writeInteger(transfer.snapshot.lastTimestamp)
        writeMessages(transfer.snapshot.log)
        writeInteger(UInt32(transfer.snapshot.recentIDs.count))
        for entry in transfer.snapshot.recentIDs {
            writeField(entry.user)
            writeField(entry.id)
            writeInteger(entry.seq)
        }
        writeSessions(transfer.sessions)
    }

    mutating func readTransfer() throws -> RoomTransfer {
        let room = try readString()
        let epoch = try readU64()
        let lastSeq = try readU64()
        let lastTimestamp = Int64(bitPattern: try readU64())
        let log = try readMessages()
        let idCount = try readU32()
        guard idCount <= 1_000_000 else { throw InternalFrameError(description: "too many ids") }
        var ids: [RoomStateMachine.RecentID] = []
        ids.reserveCapacity(Int(idCount))
        for _ in 0..<idCount { ids.append(.init(user: try readString(), id: try readString(), seq: try readU64())) }
        let snapshot = RoomStateMachine.Snapshot(lastSeq: lastSeq, lastTimestamp: lastTimestamp, log: log, recentIDs: ids)
        return RoomTransfer(room: room, epoch: epoch, snapshot: snapshot, sessions: try readSessions())
    }
}
