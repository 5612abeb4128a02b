import ChatClient
import ChatCore

/// The load tool's per-delivery work: `ServerEvent(frame:)` (ChatClient) of the `message` frame a
/// node sends for a typical message (64-byte text, 36-character id), from the frame's UTF-8 bytes
/// as the WebSocket handler hands them over. The 1,024 frames differ in their seq and id and are
/// used in turn.
final class ChatClientBench {
    let messageFrames: [[UInt8]]

    init() {
        messageFrames = (0..<1024).map { i in ServerFrame.message(Fixtures.message(seq: UInt64(1_000 + i))).bytes }
        let event = messageFrames[0].withUnsafeBytes { ServerEvent(frame: $0) }
        guard case .message(let message) = event, message.text == Fixtures.text64 else {
            fatalError("the benchmark's message frame does not decode: \(event)")
        }
    }

    /// One op = one `ServerEvent(frame:)` of a `message` frame.
    @inline(never)
    func decodeMessages(_ count: Int) -> Int {
        var sum = 0
        for i in 0..<count {
            let event = messageFrames[i & 1023].withUnsafeBytes { ServerEvent(frame: $0) }
            switch event {
            case .message(let message): sum &+= Int(truncatingIfNeeded: message.seq) &+ message.text.utf8.count
            default: sum &-= 1_000_000
            }
        }
        return sum
    }
}
