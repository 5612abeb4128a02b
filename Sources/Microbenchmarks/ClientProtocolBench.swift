import ChatCore
import NIOCore

/// The client protocol's per-message work (PROTOCOL.md v1).
///
/// - `decodeSends`: `ClientFrame.decode` of a typical `send` frame,
///   `{"type":"send","room":"general","id":"<36-character id>","text":"<64 bytes>"}` (97 bytes of
///   JSON text), as `WebSocketSession` does for every text frame a client sends: JSON parse and
///   validation. The 1,024 frames differ in their id and are used in turn.
/// - `encodeMessages`: `ServerFrame.message(...)` written into a `JSONWriter` sized as
///   `LocalRooms.deliver` sizes it (96 + text bytes), which a node does once per message and
///   client format, whatever the number of local subscribers. The seq varies per op.
/// - `encodeMessagesIntoBuffer`: the same plus the copy into a `ByteBuffer`, i.e. all of
///   `deliver`'s encoding work for the JSON format.
final class ClientProtocolBench {
    let limits = ChatLimits()
    let sendFrames: [String]
    let message = Fixtures.message()

    init() {
        sendFrames = (0..<1024).map { i in
            #"{"type":"send","room":"\#(Fixtures.room)","id":"\#(Fixtures.messageID(i))","text":"\#(Fixtures.text64)"}"#
        }
        for frame in sendFrames.prefix(2) {
            guard case .success(.send(_, _, let text)) = ClientFrame.decode(frame, limits: limits), text == Fixtures.text64 else {
                fatalError("the benchmark's send frame does not decode: \(frame)")
            }
        }
    }

    /// One op = one `ClientFrame.decode` of a `send` frame.
    @inline(never)
    func decodeSends(_ count: Int) -> Int {
        var sum = 0
        for i in 0..<count {
            switch ClientFrame.decode(sendFrames[i & 1023], limits: limits) {
            case .success(.send(let room, let id, let text)): sum &+= room.utf8.count &+ id.utf8.count &+ text.utf8.count
            default: sum &-= 1_000_000
            }
        }
        return sum
    }

    /// One op = one `message` frame encoded into a fresh `JSONWriter`.
    @inline(never)
    func encodeMessages(_ count: Int) -> Int {
        var sum = 0
        var message = message
        for i in 0..<count {
            message.seq = UInt64(1_000_000 + i)
            var writer = JSONWriter(capacity: 96 + message.text.utf8.count)
            ServerFrame.message(message).write(into: &writer)
            sum &+= writer.bytes.count
        }
        return sum
    }

    /// One op = one `message` frame encoded into a fresh `JSONWriter`, then copied into a
    /// `ByteBuffer` (what `LocalRooms.deliver` queues for every JSON socket).
    @inline(never)
    func encodeMessagesIntoBuffer(_ count: Int) -> Int {
        var sum = 0
        var message = message
        for i in 0..<count {
            message.seq = UInt64(1_000_000 + i)
            var writer = JSONWriter(capacity: 96 + message.text.utf8.count)
            ServerFrame.message(message).write(into: &writer)
            let buffer = ByteBuffer(bytes: writer.bytes)
            sum &+= buffer.readableBytes
        }
        return sum
    }
}
