import NIOCore

/// Writes frames to an internal link with one flush per event-loop tick: everything written
/// while the loop is busy (a burst of pushes, a batch of replies) leaves in one `writev`.
final class LinkWriter: @unchecked Sendable {
    let channel: any Channel
    /// Touched on the channel's event loop only.
    private var flushPending = false

    init(_ channel: any Channel) {
        self.channel = channel
    }

    /// Writes an encoded frame (from any thread; frames from one thread keep their order).
    func write(_ buffer: ByteBuffer) {
        let loop = channel.eventLoop
        if loop.inEventLoop {
            writeOnLoop(buffer)
        } else {
            loop.execute { self.writeOnLoop(buffer) }
        }
    }

    private func writeOnLoop(_ buffer: ByteBuffer) {
        channel.write(buffer, promise: nil)
        guard !flushPending else { return }
        flushPending = true
        channel.eventLoop.execute {
            self.flushPending = false
            self.channel.flush()
        }
    }
}
