import ChatCore
import NIOCore
import Synchronization

/// Where a client connection's frames go: a socket, written on its event loop.
public protocol ClientTransport: Sendable {
    var eventLoop: any EventLoop { get }
    /// Whether the socket takes more without queueing past its high-water mark (thread-safe).
    var isWritable: Bool { get }
    /// Writes one whole WebSocket frame, as wire bytes (`WebSocketWire`), without flushing.
    /// Called on `eventLoop`.
    func write(_ frame: ByteBuffer)
    /// Called on `eventLoop`.
    func flush()
    /// The client was cut off for not reading: tell it (close 4008) and close the socket soon
    /// even if it never answers. Called on `eventLoop`.
    func closeSlowConsumer()
    /// Sends a close frame with `code` and `reason`, then closes the socket. Called on `eventLoop`.
    func close(code: UInt16, reason: String)
}

/// A client socket as the room hub sees it: frames are written straight to the socket on its
/// event loop, and flushed once per event-loop tick (a message fanned out to many sockets, or many
/// messages to one socket, cost one flush per socket per tick, not one per frame).
///
/// The hub never waits for a client. A client whose socket stays unwritable (its kernel buffer
/// and the channel's 64 KiB high-water mark are full) while more than `capacity` frames and
/// more than `slackBytes` arrive is cut off (`overflowed`, close 4008) and is expected to
/// reconnect and resume with `since`; that bounds what one slow client can hold in memory, while
/// a client that stalls for a moment under a burst of large messages is not dropped.
public final class ClientConnection: @unchecked Sendable {
    public enum Format: Sendable {
        /// Protocol v1 JSON frames.
        case json
        /// The seed-compatible text line `[YYYY-MM-DD HH:MM:SS] text (user)`; messages only.
        case seed
    }

    public let id: UInt64
    public let session: String
    public let format: Format
    private let transport: any ClientTransport
    private let capacity: Int
    private let overflow = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    // Touched on the transport's event loop only.
    private var unwritableFrames = 0
    private var unwritableBytes = 0
    private var flushPending = false

    /// Bytes a client may fall behind past its socket's high-water mark (with more than
    /// `capacity` frames) before it is cut off.
    public static let slackBytes = 1 << 20

    public init(id: UInt64, session: String, format: Format, capacity: Int, transport: any ClientTransport) {
        self.id = id
        self.session = session
        self.format = format
        self.capacity = max(1, capacity)
        self.transport = transport
    }

    public var eventLoop: any EventLoop { transport.eventLoop }

    /// Whether the client was cut off for not keeping up.
    public var overflowed: Bool { overflow.load(ordering: .relaxed) }

    /// Queues a WebSocket frame in wire bytes (from any thread). Never blocks; frames from one
    /// thread keep their order.
    public func enqueue(_ buffer: ByteBuffer) {
        let loop = transport.eventLoop
        if loop.inEventLoop {
            writeOnLoop(buffer)
        } else {
            loop.execute { self.writeOnLoop(buffer) }
        }
    }

    /// Writes a frame (wire bytes) now; flushes at the end of this event-loop tick. Call on
    /// `eventLoop`.
    public func writeOnLoop(_ buffer: ByteBuffer) {
        guard !finished.load(ordering: .relaxed), !overflow.load(ordering: .relaxed) else { return }
        if transport.isWritable {
            unwritableFrames = 0
            unwritableBytes = 0
        } else {
            unwritableFrames += 1
            unwritableBytes += buffer.readableBytes
            if unwritableFrames > capacity && unwritableBytes > Self.slackBytes {
                overflow.store(true, ordering: .relaxed)
                transport.closeSlowConsumer()
                return
            }
        }
        transport.write(buffer)
        guard !flushPending else { return }
        flushPending = true
        transport.eventLoop.execute {
            self.flushPending = false
            self.transport.flush()
        }
    }

    /// Encodes and queues a protocol frame.
    public func send(_ frame: ServerFrame) {
        var writer = JSONWriter()
        frame.write(into: &writer)
        enqueue(WebSocketWire.text(ByteBuffer(bytes: writer.bytes)))
    }

    /// Closes the connection with a WebSocket close code (from any thread).
    public func close(code: UInt16, reason: String) {
        finished.store(true, ordering: .relaxed)
        let loop = transport.eventLoop
        if loop.inEventLoop {
            transport.close(code: code, reason: reason)
        } else {
            loop.execute { self.transport.close(code: code, reason: reason) }
        }
    }

    /// No more frames are written (the socket is closing).
    public func finish() {
        finished.store(true, ordering: .relaxed)
    }
}
