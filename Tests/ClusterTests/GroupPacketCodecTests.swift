import Foundation
import NIOCore
import RoomGroup
import Testing

@testable import Cluster

/// The room groups' packets on internal links (`InternalFrame.group`): every message kind and
/// entry kind round-trips, and a truncated or forged frame is refused with an error, never a trap
/// or an unbounded allocation.
@Suite("Room group packets on internal links")
struct GroupPacketCodecTests {
    static let a = ReplicaID(node: "n1", boot: 7)
    static let b = ReplicaID(node: "nœud-2", boot: .max)
    static let epoch = Epoch(term: 12, leader: a)
    static let message = GroupChatMessage(seq: 41, user: "zoë", id: "m\u{0}1", text: "hi 🎉\n", ts: -3)
    static let entries: [LogEntry] = [
        LogEntry(epoch: .zero, payload: .config(GroupConfig(voters: [a, b]))),
        LogEntry(epoch: epoch, payload: .noop),
        LogEntry(epoch: epoch, payload: .message(message)),
        LogEntry(epoch: epoch, payload: .recovery(Recovery(config: GroupConfig(voters: [b]), lostAfter: 41, resumeAfter: 91))),
        LogEntry(
            epoch: epoch,
            payload: .presence([
                PresenceChange(node: "n1", user: "zoë", present: true), PresenceChange(node: "nœud-2", user: "", present: false),
            ])),
    ]
    static let snapshot = Snapshot(
        index: 1 << 40, epoch: epoch, config: GroupConfig(voters: [a]), configIndex: 5, lastSeq: 40, lastTs: 1_700_000_000_000,
        recent: [Snapshot.Recent(user: "u", id: "i", seq: 40)], presence: PresenceTable(["n1": ["ann", "bob"], "n2": ["ann"]]))

    static let packets: [GroupPacket] = [
        GroupPacket(room: "room", from: a, message: .prepare(epoch: epoch, from: 3, voters: [a, b])),
        GroupPacket(
            room: "room", from: b,
            message: .promise(
                Promise(epoch: epoch, granted: true, promised: epoch, lastEpoch: .zero, lastIndex: 9, snapshot: snapshot, entries: entries))
        ),
        GroupPacket(
            room: "", from: b,
            message: .promise(
                Promise(epoch: epoch, granted: false, promised: epoch, lastEpoch: epoch, lastIndex: 0, snapshot: nil, entries: []))),
        GroupPacket(
            room: "room", from: a,
            message: .append(
                Append(epoch: epoch, snapshot: nil, prevIndex: 4, prevEpoch: epoch, entries: entries, commitIndex: 3, round: 9))),
        GroupPacket(
            room: "room", from: a,
            message: .append(
                Append(epoch: epoch, snapshot: snapshot, prevIndex: 1 << 40, prevEpoch: epoch, entries: [], commitIndex: 0, round: 0))),
        GroupPacket(
            room: "room", from: b,
            message: .appendReply(AppendReply(epoch: epoch, success: false, matchIndex: 2, round: .max, promised: epoch))),
        GroupPacket(room: "room", from: a, message: .resign(epoch: epoch)),
    ]

    @Test(arguments: packets)
    func roundTrips(packet: GroupPacket) throws {
        var buffer = InternalFrame.group([packet]).encoded
        #expect(try InternalFrame.decode(&buffer) == .group([packet]))
    }

    @Test("a tick's packets for one node travel in one frame, in order")
    func batch() throws {
        var buffer = InternalFrame.group(Self.packets).encoded
        #expect(try InternalFrame.decode(&buffer) == .group(Self.packets))
        var empty = InternalFrame.group([]).encoded
        #expect(try InternalFrame.decode(&empty) == .group([]))
    }

    @Test("every truncation of every packet is refused with an error")
    func truncated() {
        for packet in Self.packets {
            let whole = InternalFrame.group([packet]).encoded
            for length in 0..<whole.readableBytes {
                var cut = whole.getSlice(at: whole.readerIndex, length: length)!
                #expect(throws: InternalFrameError.self) { try InternalFrame.decode(&cut) }
            }
        }
    }

    @Test("a forged entry count is refused before anything is allocated for it")
    func forgedCount() {
        var buffer = ByteBuffer()
        buffer.writeInteger(InternalFrame.Tag.group.rawValue)
        buffer.writeInteger(UInt32(1))
        buffer.writeField("room")
        buffer.writeReplica(Self.a)
        buffer.writeInteger(UInt8(2))  // append
        buffer.writeEpoch(Self.epoch)
        buffer.writeInteger(UInt8(0))  // no snapshot
        buffer.writeIndex(0)
        buffer.writeEpoch(Self.epoch)
        buffer.writeInteger(UInt32.max)  // entries
        #expect(throws: InternalFrameError.self) { try InternalFrame.decode(&buffer) }
    }

    @Test("unknown kinds, bad flags and out-of-range indexes are refused")
    func forgedFields() {
        func frame(_ build: (inout ByteBuffer) -> Void) -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.writeInteger(InternalFrame.Tag.group.rawValue)
            buffer.writeInteger(UInt32(1))
            buffer.writeField("room")
            buffer.writeReplica(Self.a)
            build(&buffer)
            return buffer
        }
        var unknownKind = frame { $0.writeInteger(UInt8(9)) }
        var tooMany = ByteBuffer()
        tooMany.writeInteger(InternalFrame.Tag.group.rawValue)
        tooMany.writeInteger(UInt32.max)
        #expect(throws: InternalFrameError.self) { try InternalFrame.decode(&tooMany) }
        #expect(throws: InternalFrameError.self) { try InternalFrame.decode(&unknownKind) }
        var badFlag = frame {
            $0.writeInteger(UInt8(3))
            $0.writeEpoch(Self.epoch)
            $0.writeInteger(UInt8(2))  // success must be 0 or 1
        }
        #expect(throws: InternalFrameError.self) { try InternalFrame.decode(&badFlag) }
        var hugeIndex = frame {
            $0.writeInteger(UInt8(0))
            $0.writeEpoch(Self.epoch)
            $0.writeInteger(UInt64.max)
        }
        #expect(throws: InternalFrameError.self) { try InternalFrame.decode(&hugeIndex) }
    }
}

/// The seed corpus of the internal-frame fuzzer (`Fuzz/Corpus/internal-frame`, issue 11 §8): every
/// committed seed still decodes. `CHAT_WRITE_FUZZ_CORPUS=1 swift test --filter FuzzCorpus` writes
/// the seeds again from the frames below after a codec change.
@Suite("Fuzz corpus of internal frames")
struct InternalFrameFuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../../Fuzz/Corpus/internal-frame"
    ).standardized

    static let seeds: [(String, InternalFrame)] = [
        ("group-packets", .group(GroupPacketCodecTests.packets)),
        ("hello", .hello(node: "n1", nonce: [1, 2, 3])),
        ("join", .join(corr: 7, room: "lobby", user: "zoë", since: 12)),
        ("leave", .leave(corr: 8, room: "lobby", user: "zoë")),
    ]

    @Test func seedsDecode() throws {
        if ProcessInfo.processInfo.environment["CHAT_WRITE_FUZZ_CORPUS"] == "1" {
            try FileManager.default.createDirectory(at: Self.corpus, withIntermediateDirectories: true)
            for (name, frame) in Self.seeds {
                let buffer = frame.encoded
                try Data(buffer.readableBytesView).write(to: Self.corpus.appendingPathComponent(name))
            }
        }
        let files = try FileManager.default.contentsOfDirectory(at: Self.corpus, includingPropertiesForKeys: nil)
        #expect(files.count >= Self.seeds.count)
        for file in files {
            var buffer = ByteBuffer(bytes: try Data(contentsOf: file))
            #expect(throws: Never.self, "\(file.lastPathComponent)") { _ = try InternalFrame.decode(&buffer) }
        }
    }
}
