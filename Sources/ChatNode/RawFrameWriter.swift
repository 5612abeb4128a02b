import NIOCore

/// Sits at the head end of an upgraded client pipeline, below NIO's `WebSocketFrameEncoder`:
/// frames that are already wire bytes (`WebSocketWire`, framed once per message for every
/// socket) are written through it straight to the socket, without a `WebSocketFrame` per socket
/// or the encoder's header buffer. Control frames (pong, close) still go through the encoder; all
/// writes happen on the channel's event loop, so their order is the order of the calls.
final class RawFrameWriter: ChannelOutboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Set while the handler is in the pipeline; touched on the event loop only.
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes wire bytes below the frame encoder. Call on the event loop.
    func writeWire(_ frame: ByteBuffer) {
        context?.write(wrapOutboundOut(frame), promise: nil)
    }
}
