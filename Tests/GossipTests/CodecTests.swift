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

    @Test("AES-GCM sealing: sealed datagrams open; tampered, truncated or wrong-secret ones do not; no plaintext shows")
    func sealing() throws {
        var sealer = GossipSealer(secrets: ["cluster-secret"], nonceSeed: 1)
        let other = GossipSealer(secrets: ["another-secret"])
        let payload = SWIMCodec.encode(Self.messages[2])
        let datagram = sealer.seal(payload, sentAtMs: 1_700_000_000_123)
        #expect(datagram.count == payload.count + GossipSealer.overhead)
        let opened = try #require(sealer.open(datagram))
        #expect(opened.payload == payload)
        #expect(opened.sentAtMs == 1_700_000_000_123)
        #expect(other.open(datagram) == nil)
        // The member's address and metadata are in the payload; none of it is in the datagram.
        for secret in ["10.1.2.3", "clientPort", "node-a"] {
            let needle = Array(secret.utf8)
            #expect(!datagram.indices.dropLast(needle.count).contains { Array(datagram[$0..<$0 + needle.count]) == needle })
        }
        // Every byte matters: version, key id, time, nonce, ciphertext, tag.
        for i in [0, 1, 6, 14, 30, datagram.count / 2, datagram.count - 1] {
            var tampered = datagram
            tampered[i] ^= 0x01
            #expect(sealer.open(tampered) == nil, "byte \(i)")
        }
        #expect(sealer.open(Array(datagram.dropLast())) == nil)
        #expect(sealer.open([]) == nil)
        #expect(sealer.open(Array(repeating: 0, count: 64)) == nil)
        // Nonces never repeat within a stream.
        let nonces = (0..<1000).map { _ in Array(sealer.seal([1], sentAtMs: 0)[13..<25]) }
        #expect(Set(nonces).count == 1000)
    }

    @Test("a key ring: the first secret seals, every one opens, so secrets rotate node by node")
    func keyRing() throws {
        var old = GossipSealer(secrets: ["old-secret"])
        var rotating = GossipSealer(secrets: ["new-secret", "old-secret"])
        var new = GossipSealer(secrets: ["new-secret"])
        let payload: [UInt8] = [1, 2, 3]
        #expect(rotating.open(old.seal(payload, sentAtMs: 0))?.payload == payload)
        #expect(new.open(rotating.seal(payload, sentAtMs: 0))?.payload == payload)
        #expect(old.open(new.seal(payload, sentAtMs: 0)) == nil)
    }

    @Test("the replay filter: a nonce is taken once within the window; outside it the datagram is stale")
    func replayFilter() {
        var filter = ReplayFilter(windowMs: 30_000, capacity: 4)
        let a: [UInt8] = [1], b: [UInt8] = [2]
        #expect(filter.check(nonce: a, sentAtMs: 1_000, nowMs: 1_500) == .fresh)
        #expect(filter.check(nonce: a, sentAtMs: 1_000, nowMs: 20_000) == .replayed)
        #expect(filter.check(nonce: a, sentAtMs: 1_000, nowMs: 32_000) == .stale)
        #expect(filter.check(nonce: b, sentAtMs: 40_000, nowMs: 5_000) == .stale)  // from the future
        // Long after, the nonce is forgotten, and the same datagram is stale anyway.
        #expect(filter.check(nonce: b, sentAtMs: 100_000, nowMs: 100_000) == .fresh)
        #expect(filter.check(nonce: a, sentAtMs: 1_000, nowMs: 100_000) == .stale)
        // Bounded: past capacity the oldest nonces are forgotten first.
        for n: UInt8 in 10..<20 { #expect(filter.check(nonce: [n], sentAtMs: 100_000, nowMs: 100_001) == .fresh) }
        #expect(filter.check(nonce: [19], sentAtMs: 100_000, nowMs: 100_002) == .replayed)
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
