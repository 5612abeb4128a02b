import NIOCore

/// Sits at the head end of a client pipeline (added when the connection is accepted), below NIO's `WebSocketFrameEncoder`:
/// frames that are already wire bytes (`WebSocketWire`, framed once per message for every
/// socket) are written through it straight to the socket, without a `WebSocketFrame` per socket
/// or the encoder's header buffer. Control frames (pong, close) still go through the encoder; all
/// writes happen on the channel's event loop, so their order is the order of the calls.
///
/// It also ends refused connections politely (`writeAndClose`).
final class RawFrameWriter: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// How long a refused client has to read its answer and close before the socket is closed
    /// anyway.
    static let lingerAfterRefusal: TimeAmount = .seconds(2)

    /// Set while the handler is in the pipeline; touched on the event loop only.
    private var context: ChannelHandlerContext?
    /// Set by `writeAndClose`: nothing read afterwards reaches the handlers above.
    private var discarding = false
    /// Gives the connection's admission back (`ClientGuard`) when it closes.
    private var release: (() -> Void)?

    /// Runs `release` once when the connection closes (instead of a callback on its close future:
    /// one closure less per connection).
    func releaseOnClose(_ release: @escaping () -> Void) {
        self.release = release
    }

    func channelInactive(context: ChannelHandlerContext) {
        release?()
        release = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !discarding else { return }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if discarding, case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

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

    /// Writes bytes below every other handler (an HTTP answer before the HTTP codec has run) and
    /// ends the connection: our side is shut at once, and what the client still sends is read and
    /// dropped until it closes (or `lingerAfterRefusal` passes). Closing with its request unread
    /// would make the kernel reset the connection, and the client could lose the answer. Call on
    /// the event loop.
    func writeAndClose(_ bytes: ByteBuffer) {
        guard let context, !discarding else { return }
        discarding = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in channel.close(mode: .output, promise: nil) }
        channel.eventLoop.scheduleTask(in: Self.lingerAfterRefusal) { channel.close(promise: nil) }
    }
}
