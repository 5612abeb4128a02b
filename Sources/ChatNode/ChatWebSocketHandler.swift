import NIOCore
import NIOWebSocket

/// The WebSocket side of a client connection, on its event loop: reassembles fragmented
/// messages, answers pings and the close handshake, validates UTF-8, and hands complete messages
/// to the session's `SessionRunner`.
///
/// Close codes: a message over `maxMessageBytes` (fragments added up) closes with 1009 (one
/// frame over it is refused by NIO's frame decoder, also with 1009); a text message that is not
/// UTF-8 closes with 1007; a protocol violation (a continuation without a start, a new message
/// inside a fragmented one) closes with 1002.
final class ChatWebSocketHandler<Session: ClientSession>: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let runner: SessionRunner<Session>
    private let maxMessageBytes: Int
    private let onClose: () -> Void
    private var fragments: ByteBuffer?
    private var fragmentsAreText = false
    private var closing = false

    init(runner: SessionRunner<Session>, maxMessageBytes: Int, onClose: @escaping () -> Void) {
        self.runner = runner
        self.maxMessageBytes = maxMessageBytes
        self.onClose = onClose
    }

    func handlerAdded(context: ChannelHandlerContext) {
        runner.start()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            guard fragments == nil else { return close(context, .protocolError) }
            if frame.fin {
                complete(context, text: frame.opcode == .text, data: frame.unmaskedData)
            } else {
                fragments = frame.unmaskedData
                fragmentsAreText = frame.opcode == .text
            }
        case .continuation:
            guard var buffer = fragments else { return close(context, .protocolError) }
            var data = frame.unmaskedData
            guard buffer.readableBytes + data.readableBytes <= maxMessageBytes else { return close(context, .messageTooLarge) }
            buffer.writeBuffer(&data)
            if frame.fin {
                fragments = nil
                complete(context, text: fragmentsAreText, data: buffer)
            } else {
                fragments = buffer
            }
        case .ping:
            guard frame.fin else { return close(context, .protocolError) }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .pong:
            break
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readWebSocketErrorCode() ?? .normalClosure
            close(context, code)
        default:
            close(context, .protocolError)
        }
    }

    private func complete(_ context: ChannelHandlerContext, text: Bool, data: ByteBuffer) {
        guard data.readableBytes <= maxMessageBytes else { return close(context, .messageTooLarge) }
        let input: SessionRunner<Session>.Input
        if text {
            guard let string = String(validating: data.readableBytesView, as: UTF8.self) else {
                return close(context, .dataInconsistentWithMessage)
            }
            input = .text(string)
        } else {
            input = .binary
        }
        if runner.submit(input) {
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
    }

    /// Sends a close frame (once) and closes the socket.
    private func close(_ context: ChannelHandlerContext, _ code: WebSocketErrorCode) {
        guard !closing else { return }
        closing = true
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: code)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        _ = runner.submit(.end)
        onClose()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
