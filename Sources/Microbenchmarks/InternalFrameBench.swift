import ChatCore
import Cluster
import NIOCore

/// Internal frames (the binary frames of node-to-node links), through their public codec:
/// `InternalFrame.encoded` (a fresh `ByteBuffer`) and `InternalFrame.decode(&buffer)`.
///
/// - `message`: `InternalFrame.message(ChatMessage)`, the push from a room's owner to every
///   subscribed node, once per message per subscribed node.
/// - `replicate`: `InternalFrame.replicate(corr:, .append(...))` with one message and no sessions,
///   what an owner sends its room's successor for each message before it may ack.
///
/// The message has a 64-byte text and a 36-character id. Encode-only ops encode the same frame
/// each time (encoding is a pure function of it); decode-only ops decode a copy of the same
/// encoded buffer (the copy shares its storage: no allocation); a round trip encodes then decodes
/// the result. Decoding creates the message's strings, as a receiver must.
final class InternalFrameBench {
    let messageFrame = InternalFrame.message(Fixtures.message())
    let replicateFrame = InternalFrame.replicate(
        corr: 77, .append(room: Fixtures.room, epoch: 3, baseSeq: 1_233, messages: [Fixtures.message()], sessions: nil))
    let messageBytes: ByteBuffer
    let replicateBytes: ByteBuffer

    init() {
        messageBytes = messageFrame.encoded
        replicateBytes = replicateFrame.encoded
        for (frame, bytes) in [(messageFrame, messageBytes), (replicateFrame, replicateBytes)] {
            var copy = bytes
            guard (try? InternalFrame.decode(&copy)) == frame else { fatalError("internal frame does not round-trip: \(frame)") }
        }
    }

    /// Bytes of the encoded message frame and of the encoded replicate frame.
    var sizes: (message: Int, replicate: Int) { (messageBytes.readableBytes, replicateBytes.readableBytes) }

    /// Folds what a receiver reads out of a decoded frame into a checksum.
    @inline(__always)
    static func checksum(_ frame: InternalFrame?) -> Int {
        switch frame {
        case .message(let message): message.text.utf8.count &+ Int(truncatingIfNeeded: message.seq)
        case .replicate(let corr, .append(_, _, let baseSeq, let messages, _)):
            messages.count &+ Int(truncatingIfNeeded: corr &+ baseSeq)
        default: -1_000_000
        }
    }

    /// One op = `frame.encoded`.
    @inline(never)
    func encode(_ frame: InternalFrame, _ count: Int) -> Int {
        var sum = 0
        for _ in 0..<count { sum &+= frame.encoded.readableBytes }
        return sum
    }

    /// One op = `InternalFrame.decode` of a copy of `bytes`.
    @inline(never)
    func decode(_ bytes: ByteBuffer, _ count: Int) -> Int {
        var sum = 0
        for _ in 0..<count {
            var copy = bytes
            sum &+= Self.checksum(try? InternalFrame.decode(&copy))
        }
        return sum
    }

    /// One op = `frame.encoded`, then `InternalFrame.decode` of it.
    @inline(never)
    func roundTrip(_ frame: InternalFrame, _ count: Int) -> Int {
        var sum = 0
        for _ in 0..<count {
            var buffer = frame.encoded
            sum &+= Self.checksum(try? InternalFrame.decode(&buffer))
        }
        return sum
    }
}
