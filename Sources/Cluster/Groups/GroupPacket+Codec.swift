import NIOCore
import RoomGroup

/// Binary encoding of the room groups' packets (`InternalFrame.group`), with the conventions of
/// the rest of `InternalFrame`: big-endian integers, length-prefixed strings, a tag byte for each
/// choice. Log indexes travel as unsigned 64-bit integers and are checked on the way in; every
/// count is bounded, so a forged frame fails to decode instead of allocating without limit.
extension ByteBuffer {
    /// Most entries, voters and recent ids one packet may carry.
    static let maxGroupEntries: UInt32 = 100_000
    static let maxGroupVoters: UInt32 = 64
    static let maxRecentIDs: UInt32 = 1_000_000
    /// Most presence changes one entry, or users and nodes one snapshot, may carry.
    static let maxPresence: UInt32 = 1_000_000

    mutating func writeGroupPacket(_ packet: GroupPacket) {
        writeField(packet.room)
        writeReplica(packet.from)
        switch packet.message {
        case .prepare(let epoch, let from, let voters):
            writeInteger(UInt8(0))
            writeEpoch(epoch)
            writeIndex(from)
            writeReplicas(voters)
        case .promise(let promise):
            writeInteger(UInt8(1))
            writeEpoch(promise.epoch)
            writeInteger(UInt8(promise.granted ? 1 : 0))
            writeEpoch(promise.promised)
            writeEpoch(promise.lastEpoch)
            writeIndex(promise.lastIndex)
            writeOptionalSnapshot(promise.snapshot)
            writeEntries(promise.entries)
        case .append(let append):
            writeInteger(UInt8(2))
            writeEpoch(append.epoch)
            writeOptionalSnapshot(append.snapshot)
            writeIndex(append.prevIndex)
            writeEpoch(append.prevEpoch)
            writeEntries(append.entries)
            writeIndex(append.commitIndex)
            writeInteger(append.round)
        case .appendReply(let reply):
            writeInteger(UInt8(3))
            writeEpoch(reply.epoch)
            writeInteger(UInt8(reply.success ? 1 : 0))
            writeIndex(reply.matchIndex)
            writeInteger(reply.round)
            writeEpoch(reply.promised)
        case .resign(let epoch):
            writeInteger(UInt8(4))
            writeEpoch(epoch)
        }
    }

    mutating func readGroupPacket() throws -> GroupPacket {
        let room = try readString()
        let from = try readReplica()
        let message: GroupMessage
        switch try readU8() {
        case 0:
            message = .prepare(epoch: try readEpoch(), from: try readIndex(), voters: try readReplicas())
        case 1:
            message = .promise(
                Promise(
                    epoch: try readEpoch(), granted: try readFlag(), promised: try readEpoch(), lastEpoch: try readEpoch(),
                    lastIndex: try readIndex(), snapshot: try readOptionalSnapshot(), entries: try readEntries()))
        case 2:
            message = .append(
                Append(
                    epoch: try readEpoch(), snapshot: try readOptionalSnapshot(), prevIndex: try readIndex(),
                    prevEpoch: try readEpoch(), entries: try readEntries(), commitIndex: try readIndex(), round: try readU64()))
        case 3:
            message = .appendReply(
                AppendReply(
                    epoch: try readEpoch(), success: try readFlag(), matchIndex: try readIndex(), round: try readU64(),
                    promised: try readEpoch()))
        case 4:
            message = .resign(epoch: try readEpoch())
        default:
            throw InternalFrameError(description: "unknown group message")
        }
        return GroupPacket(room: room, from: from, message: message)
    }

    // MARK: Parts

    mutating func writeIndex(_ index: Int) { writeInteger(UInt64(max(0, index))) }

    mutating func readIndex() throws -> Int {
        guard let index = Int(exactly: try readU64()), index <= 1 << 48 else {
            throw InternalFrameError(description: "log index out of range")
        }
        return index
    }

    mutating func readFlag() throws -> Bool {
        switch try readU8() {
        case 0: return false
        case 1: return true
        default: throw InternalFrameError(description: "bad flag")
        }
    }

    mutating func writeReplica(_ replica: ReplicaID) {
        writeField(replica.node)
        writeInteger(replica.boot)
    }

    mutating func readReplica() throws -> ReplicaID { ReplicaID(node: try readString(), boot: try readU64()) }

    mutating func writeReplicas(_ replicas: [ReplicaID]) {
        writeInteger(UInt32(replicas.count))
        for replica in replicas { writeReplica(replica) }
    }

    mutating func readReplicas() throws -> [ReplicaID] {
        let count = try readU32()
        guard count <= Self.maxGroupVoters else { throw InternalFrameError(description: "too many voters") }
        return try (0..<count).map { _ in try readReplica() }
    }

    mutating func writeEpoch(_ epoch: Epoch) {
        writeInteger(epoch.term)
        writeReplica(epoch.leader)
    }

    mutating func readEpoch() throws -> Epoch { Epoch(term: try readU64(), leader: try readReplica()) }

    mutating func writeGroupMessage(_ message: GroupChatMessage) {
        writeInteger(message.seq)
        writeField(message.user)
        writeField(message.id)
        writeField(message.text)
        writeInteger(UInt64(bitPattern: message.ts))
    }

    mutating func readGroupMessage() throws -> GroupChatMessage {
        GroupChatMessage(
            seq: try readU64(), user: try readString(), id: try readString(), text: try readString(),
            ts: Int64(bitPattern: try readU64()))
    }

    mutating func writeEntries(_ entries: [LogEntry]) {
        writeInteger(UInt32(entries.count))
        for entry in entries {
            writeEpoch(entry.epoch)
            switch entry.payload {
            case .message(let message):
                writeInteger(UInt8(0))
                writeGroupMessage(message)
            case .noop:
                writeInteger(UInt8(1))
            case .config(let config):
                writeInteger(UInt8(2))
                writeReplicas(config.voters)
            case .recovery(let recovery):
                writeInteger(UInt8(3))
                writeReplicas(recovery.config.voters)
                writeInteger(recovery.lostAfter)
                writeInteger(recovery.resumeAfter)
            case .presence(let changes):
                writeInteger(UInt8(4))
                writeInteger(UInt32(changes.count))
                for change in changes {
                    writeField(change.node)
                    writeField(change.user)
                    writeInteger(UInt8(change.present ? 1 : 0))
                }
            }
        }
    }

    mutating func readEntries() throws -> [LogEntry] {
        let count = try readU32()
        guard count <= Self.maxGroupEntries else { throw InternalFrameError(description: "too many log entries") }
        var entries: [LogEntry] = []
        entries.reserveCapacity(Int(min(count, 1024)))
        for _ in 0..<count {
            let epoch = try readEpoch()
            let payload: LogEntry.Payload
            switch try readU8() {
            case 0: payload = .message(try readGroupMessage())
            case 1: payload = .noop
            case 2: payload = .config(GroupConfig(voters: try readReplicas()))
            case 3:
                payload = .recovery(
                    Recovery(config: GroupConfig(voters: try readReplicas()), lostAfter: try readU64(), resumeAfter: try readU64()))
            case 4:
                let count = try readU32()
                guard count <= Self.maxPresence else { throw InternalFrameError(description: "too many presence changes") }
                var changes: [PresenceChange] = []
                for _ in 0..<count {
                    changes.append(PresenceChange(node: try readString(), user: try readString(), present: try readFlag()))
                }
                payload = .presence(changes)
            default: throw InternalFrameError(description: "unknown log entry")
            }
            entries.append(LogEntry(epoch: epoch, payload: payload))
        }
        return entries
    }

    mutating func writeOptionalSnapshot(_ snapshot: Snapshot?) {
        guard let snapshot else {
            writeInteger(UInt8(0))
            return
        }
        writeInteger(UInt8(1))
        writeIndex(snapshot.index)
        writeEpoch(snapshot.epoch)
        if let config = snapshot.config {
            writeInteger(UInt8(1))
            writeReplicas(config.voters)
        } else {
            writeInteger(UInt8(0))
        }
        writeIndex(snapshot.configIndex)
        writeInteger(snapshot.lastSeq)
        writeInteger(UInt64(bitPattern: snapshot.lastTs))
        writeInteger(UInt32(snapshot.recent.count))
        for recent in snapshot.recent {
            writeField(recent.user)
            writeField(recent.id)
            writeInteger(recent.seq)
        }
        let nodes = snapshot.presence.nodes
        writeInteger(UInt32(nodes.count))
        for node in nodes {
            let users = snapshot.presence.users(at: node).sorted()
            writeField(node)
            writeInteger(UInt32(users.count))
            for user in users { writeField(user) }
        }
    }

    mutating func readOptionalSnapshot() throws -> Snapshot? {
        guard try readFlag() else { return nil }
        let index = try readIndex()
        let epoch = try readEpoch()
        let config = try readFlag() ? GroupConfig(voters: try readReplicas()) : nil
        let configIndex = try readIndex()
        let lastSeq = try readU64()
        let lastTs = Int64(bitPattern: try readU64())
        let count = try readU32()
        guard count <= Self.maxRecentIDs else { throw InternalFrameError(description: "too many recent ids") }
        var recent: [Snapshot.Recent] = []
        for _ in 0..<count { recent.append(Snapshot.Recent(user: try readString(), id: try readString(), seq: try readU64())) }
        let nodes = try readU32()
        guard nodes <= Self.maxPresence else { throw InternalFrameError(description: "too many presence nodes") }
        var presence: [String: Set<String>] = [:]
        for _ in 0..<nodes {
            let node = try readString()
            let users = try readU32()
            guard users <= Self.maxPresence else { throw InternalFrameError(description: "too many present users") }
            var set = Set<String>()
            for _ in 0..<users { set.insert(try readString()) }
            presence[node] = set
        }
        guard configIndex <= index else { throw InternalFrameError(description: "snapshot configuration after its index") }
        return Snapshot(
            index: index, epoch: epoch, config: config, configIndex: configIndex, lastSeq: lastSeq, lastTs: lastTs, recent: recent,
            presence: PresenceTable(presence))
    }
}
