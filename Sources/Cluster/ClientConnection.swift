import ChatCore
import NIOCore
import Synchronization

/// A client socket as the room hub sees it: a bounded queue of encoded frames, and the format the
/// client reads.
///
/// The hub never waits for a client. Frames go into a queue of at most `capacity` frames; a
/// client that lets it fill up is cut off (`overflowed` is set, the queue is finished, and
/// `onOverflow` closes the socket) and is expected to reconnect and resume with `since`.
public final class ClientConnection: Sendable {
    public enum Format: Sendable {
        /// Protocol v1 JSON frames.
        case json
        /// The seed-compatible text line `[YYYY-MM-DD HH:MM:SS] text (user)`; messages only.
        case seed
    }

    public let id: UInt64
    public let session: String
    public let format: Format
    public let frames: AsyncStream<ByteBuffer>
    private let continuation: AsyncStream<ByteBuffer>.Continuation
    private let overflow = Atomic<Bool>(false)
    private let onOverflow: @Sendable () -> Void

    public init(id: UInt64, session: String, format: Format, capacity: Int, onOverflow: @escaping @Sendable () -> Void) {
        self.id = id
        self.session = session
        self.format = format
        self.onOverflow = onOverflow
        (frames, continuation) = AsyncStream.makeStream(
            of: ByteBuffer.self, bufferingPolicy: .bufferingOldest(max(1, capacity)))
    }

    /// Whether the client was cut off for not keeping up.
    public var overflowed: Bool { overflow.load(ordering: .relaxed) }

    /// Queues an encoded frame. Never blocks.
    public func enqueue(_ buffer: ByteBuffer) {
        if case .dropped = continuation.yield(buffer) {
            if !overflow.exchange(true, ordering: .relaxed) {
                continuation.finish()
                onOverflow()
            }
        }
    }

    /// Encodes and queues a protocol frame.
    public func send(_ frame: ServerFrame) {
        var writer = JSONWriter()
        frame.write(into: &writer)
        enqueue(ByteBuffer(bytes: writer.bytes))
    }

    /// Ends the queue; the writer finishes what is queued and stops.
    public func finish() {
        continuation.finish()
    }
}
