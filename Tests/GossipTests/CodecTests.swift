import Foundation
import Testing

@testable import Gossip

@Suite("Codec and framing", .timeLimit(.minutes(1)))
struct CodecTests {
    static let member = GossipMember(
        id: "node-a", address: GossipAddress(host: "10.1.2.3", port: 7946),
        metadata: ["host": "10.1.2.3", "clientPort": "8080", "internalPort": "7947"], status: .suspect,
        incarnation: 1_712_345_678_901)

    static let messages: [SWIMMessage] = [
        SWIMMessage(senderID: "a", senderIncarnation: 0, kind: .ping(sequence: 1, target: "b")),
        SWIMMessage(
            senderID: "a", senderIncarnation: 7,
            kind: .pingRequest(sequence: 300, target: "c", targetAddress: GossipAddress(host: "::1", port: 65535)),
            updates: [SWIMUpdate(member: member, suspectedBy: "zed")]),
        SWIMMessage(
            senderID: "é-ünïcode", senderIncarnation: .max, kind: .ack(sequence: .max, member: "b", incarnation: 42),
            updates: [SWIMUpdate(member: member), SWIMUpdate(member: GossipMember(id: "x", address: GossipAddress(host: "h", port: 1)))]),
        SWIMMessage(senderID: "a", senderIncarnation: 1, kind: .nack(sequence: 9)),
        SWIMMessage(senderID: "a", senderIncarnation: 1, kind: .sync(replyRequested: true), updates: [SWIMUpdate(member: member)]),
        SWIMMessage(senderID: "a", senderIncarnation: 1, kind: .sync(replyRequested: false)),
        SWIMMessage(
            senderID: "a", senderIncarnation: 1, kind: .gossip,
            updates: [MemberStatus.dead, .left, .alive].map { s in
                var m = member
                m.status = s
                return SWIMUpdate(member: m)
            }),
    ]

    @Test("every message kind round-trips, and encodedSize is exact")
    func roundTrip() throws {
        for message in Self.messages {
            let bytes = SWIMCodec.encode(message)
            #expect(bytes.count == SWIMCodec.encodedSize(of: message))
            let decoded = try SWIMCodec.decode(bytes)
            #expect(decoded == message)
        }
    }

    @Test("truncated, garbage and trailing input is rejected, never crashes")
    func rejectsMalformed() {
        for message in Self.messages {
            let bytes = SWIMCodec.encode(message)
            for cut in 0..<bytes.count {
                #expect(throws: SWIMCodec.DecodingError.self) { try SWIMCodec.decode(Array(bytes[..<cut])) }
            }
            #expect(throws: SWIMCodec.DecodingError.trailingBytes) { try SWIMCodec.decode(bytes + [0]) }
        }
        #expect(throws: SWIMCodec.DecodingError.unsupportedVersion(9)) { try SWIMCodec.decode([9, 1, 0, 0]) }
        #expect(throws: SWIMCodec.DecodingError.unknownKind(77)) { try SWIMCodec.decode([1, 77, 0, 0]) }
        var rng = SWIMRandom(seed: 3)
        for _ in 0..<2000 {
            let n = Int(rng.next() % 64)
            let junk = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = try? SWIMCodec.decode([1] + junk)
        }
    }

    @Test("HMAC framing: sealed datagrams open; tampered, truncated or wrong-secret ones do not")
    func hmac() {
        let auth = GossipAuthenticator(secret: "cluster-secret")
        let other = GossipAuthenticator(secret: "another-secret")
        let payload = SWIMCodec.encode(Self.messages[2])
        let datagram = auth.seal(payload)
        #expect(datagram.count == payload.count + 32)
        #expect(auth.open(datagram).map(Array.init) == payload)
        #expect(other.open(datagram) == nil)
        for i in [0, payload.count / 2, payload.count, datagram.count - 1] {
            var tampered = datagram
            tampered[i] ^= 0x01
            #expect(auth.open(tampered) == nil)
        }
        #expect(auth.open(Array(datagram.dropLast())) == nil)
        #expect(auth.open([]) == nil)
        #expect(auth.open(Array(repeating: 0, count: 32)) == nil)
    }

    @Test("addresses parse and print")
    func addresses() {
        #expect(GossipAddress("127.0.0.1:7946") == GossipAddress(host: "127.0.0.1", port: 7946))
        #expect(GossipAddress("node-1.local:80") == GossipAddress(host: "node-1.local", port: 80))
        #expect(GossipAddress("[::1]:7946") == GossipAddress(host: "::1", port: 7946))
        #expect(GossipAddress(host: "::1", port: 7946).description == "[::1]:7946")
        #expect(GossipAddress(host: "a", port: 1).description == "a:1")
        for bad in ["", "host", ":80", "host:", "host:99999", "::1:80", "[::1]", "host:-1", "host:x"] {
            #expect(GossipAddress(bad) == nil, "\(bad)")
        }
    }
}

/// The seed corpus of the gossip fuzzer (`Fuzz/Corpus/gossip`, issue 11 §8): every committed seed
/// still decodes; `CHAT_WRITE_FUZZ_CORPUS=1` writes them again from `CodecTests.messages`.
@Suite("Fuzz corpus of gossip messages")
struct GossipFuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../../Fuzz/Corpus/gossip"
    ).standardized

    @Test func seedsDecode() throws {
        if ProcessInfo.processInfo.environment["CHAT_WRITE_FUZZ_CORPUS"] == "1" {
            try FileManager.default.createDirectory(at: Self.corpus, withIntermediateDirectories: true)
            for (index, message) in CodecTests.messages.enumerated() {
                try Data(SWIMCodec.encode(message)).write(to: Self.corpus.appendingPathComponent("message-\(index)"))
            }
        }
        let files = try FileManager.default.contentsOfDirectory(at: Self.corpus, includingPropertiesForKeys: nil)
        #expect(files.count >= CodecTests.messages.count)
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: file))
            #expect(throws: Never.self, "\(file.lastPathComponent)") { _ = try SWIMCodec.decode(bytes) }
        }
    }
}
