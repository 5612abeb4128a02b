import NIOCore
import NIOWebSocket

/// The WebSocket end of a client channel, added once the HTTP upgrade succeeded. It lives on the
/// channel's event loop and is only touched there.
///
/// Inbound: text messages (reassembled from fragments) are decoded into `ServerEvent`s and handed
/// to `onEvent` in order; pings are answered with a pong carrying the same data; a close frame is
/// answered (unless this side already sent one) and its code is kept for `onClose`. Binary messages
/// are reported as `.other(type: "binary")`.
///
/// Outbound: `write(_:)` takes a batch of text payloads, writes one masked frame per payload and
/// flushes once.
final class WebSocketClientHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// How long `close()` waits for the server's close frame before dropping the TCP connection.
    static let closeTimeout = TimeAmount.seconds(2)

    private let onEvent: @Sendable (ServerEvent) -> Void
    private let onClose: @Sendable (Int?) -> Void
    private var context: ChannelHandlerContext?
    private var fragments: ByteBuffer?
    private var fragmentOpcode: WebSocketOpcode = .text
    private var closeCode: Int?
    private var closeSent = false
    private var closeReported = false

    init(onEvent: @escaping @Sendable (ServerEvent) -> Void, onClose: @escaping @Sendable (Int?) -> Void) {
        self.onEvent = onEvent
        self.onClose = onClose
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        reportClose()
    }

    func channelInactive(context: ChannelHandlerContext) {
        reportClose()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            if frame.fin {
                deliver(opcode: frame.opcode, payload: frame.unmaskedData)
            } else {
                fragmentOpcode = frame.opcode
                fragments = frame.unmaskedData
            }
        case .continuation:
            guard var buffer = fragments else { return }
            var payload = frame.unmaskedData
            buffer.writeBuffer(&payload)
            if frame.fin {
                fragments = nil
                deliver(opcode: fragmentOpcode, payload: buffer)
            } else {
                fragments = buffer
            }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            var payload = frame.unmaskedData
            closeCode = payload.readInteger(as: UInt16.self).map(Int.init) ?? 1005
            if closeSent {
                context.close(promise: nil)
            } else {
                closeSent = true
                var echo = context.channel.allocator.buffer(capacity: 2)
                echo.writeInteger(UInt16(closeCode ?? 1000))
                let reply = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: echo)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in channel.close(promise: nil) }
            }
        default:
            break
        }
    }

    private func deliver(opcode: WebSocketOpcode, payload: ByteBuffer) {
        guard opcode == .text else {
            onEvent(.other(type: "binary"))
            return
        }
        let event = payload.withUnsafeReadableBytes { ServerEvent(frame: $0) }
        onEvent(event)
    }

    /// Writes one masked text frame per payload, then flushes once.
    func write(_ payloads: [ByteBuffer]) {
        guard let context, !closeSent else { return }
        for payload in payloads {
            let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: payload)
            context.write(wrapOutboundOut(frame), promise: nil)
        }
        context.flush()
    }

    /// Sends a close frame (1000) and closes the channel once the server answers, or after
    /// `closeTimeout`.
    func sendClose() {
        guard let context else { return }
        guard !closeSent else { return }
        closeSent = true
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.writeInteger(UInt16(1000))
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: payload)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
    }

    private func reportClose() {
        guard !closeReported else { return }
        closeReported = true
        onClose(closeCode)
    }
}
