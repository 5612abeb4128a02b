import NIOCore
import NIOWebSocket

/// The broadcast server's per-event-loop writer: takes a frame and the local connections of a
/// room, writes the frame to each, and flushes every touched connection once per pass of the
/// loop (a flush task queued behind the deliveries already waiting), not once per frame.
///
/// Touched only on `loop` (hence `@unchecked Sendable`): the hub reaches it with `loop.execute`.
final class LoopOutbox: @unchecked Sendable {
    let loop: any EventLoop
    private var dirty: [BroadcastHandler] = []
    private var flushScheduled = false

    init(loop: any EventLoop) {
        self.loop = loop
    }

    /// Writes `frame` to every member (on the loop); they are flushed by the next flush task.
    func deliver(_ frame: WebSocketFrame, to members: [NIOLoopBound<BroadcastHandler>]) {
        for member in members {
            let handler = member.value
            if handler.writeWithoutFlush(frame) && !handler.awaitingFlush {
                handler.awaitingFlush = true
                dirty.append(handler)
            }
        }
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled, !dirty.isEmpty else { return }
        flushScheduled = true
        loop.execute { self.flushAll() }
    }

    private func flushAll() {
        flushScheduled = false
        let handlers = dirty
        dirty.removeAll(keepingCapacity: true)
        for handler in handlers {
            handler.awaitingFlush = false
            handler.flush()
        }
    }
}
