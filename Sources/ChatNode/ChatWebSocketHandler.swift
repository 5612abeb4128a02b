import ChatCore
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
///
/// Deadlines (`ChatLimits`): a `/ws` connection that has not said `hello` within
/// `helloTimeoutSeconds` closes with 1008; a client silent for `pingIntervalSeconds` is pinged,
/// and one that then sends nothing (not even the pong) for `pingTimeoutSeconds` is closed with
/// 1001 at once, without waiting for a close handshake a vanished peer cannot answer.
final class ChatWebSocketHandler<Session: ClientSession>: ChannelInboundHandler, RemovableChannelHandler, LivenessChecked {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let runner: SessionRunner<Session>
    private let maxMessageBytes: Int
    private let onClose: () -> Void
    private let clientGuard: ClientGuard
    private let hello: HelloGate?
    private var fragments: ByteBuffer?
    private var fragmentsAreText = false
    private var closing = false
    private var probe: LivenessProbe
    /// Uptime nanoseconds by which `hello` must be said (nil: no deadline, or it was said).
    private var helloDeadline: UInt64?
    /// Set while the handler is in the pipeline, for the sweeper's checks (on the loop).
    private var context: ChannelHandlerContext?

    /// - Parameter hello: the connection's gate when it must say `hello` by the deadline.
    init(
        runner: SessionRunner<Session>, maxMessageBytes: Int, clientGuard: ClientGuard, hello: HelloGate?,
        onClose: @escaping () -> Void
    ) {
        self.runner = runner
        self.maxMessageBytes = maxMessageBytes
        self.clientGuard = clientGuard
        self.hello = hello
        self.onClose = onClose
        let limits = clientGuard.limits
        self.probe = LivenessProbe(
            interval: Self.nanoseconds(limits.pingIntervalSeconds), timeout: Self.nanoseconds(limits.pingTimeoutSeconds),
            now: NIODeadline.now().uptimeNanoseconds)
    }

    static func nanoseconds(_ seconds: Double) -> UInt64 { UInt64(seconds * 1e9) }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        runner.start()
        if hello != nil {
            helloDeadline = NIODeadline.now().uptimeNanoseconds + Self.nanoseconds(clientGuard.limits.helloTimeoutSeconds)
        }
        LivenessSweeper.of(context.eventLoop).add(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        LivenessSweeper.of(context.eventLoop).remove(self)
        self.context = nil
    }

    /// Called by the loop's `LivenessSweeper` about once a second.
    func checkDeadlines(now: UInt64) {
        guard let context, !closing else { return }
        if let deadline = helloDeadline, let hello {
            if hello.isOpen {
                helloDeadline = nil
            } else if now >= deadline {
                clientGuard.counted(.helloTimeout)
                return close(context, .policyViolation, reason: "say hello within \(clientGuard.limits.helloTimeoutSeconds) s")
            }
        }
        switch probe.check(now: now) {
        case .none:
            break
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())), promise: nil)
        case .close:
            clientGuard.counted(.pingTimeout)
            close(context, .goingAway, reason: "no answer to ping", wait: false)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        probe.heard(now: NIODeadline.now().uptimeNanoseconds)
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

    /// Sends a close frame (once) and closes the socket once it is written (at once when `wait`
    /// is false: the peer may be gone and the write never complete).
    private func close(_ context: ChannelHandlerContext, _ code: WebSocketErrorCode, reason: String = "", wait: Bool = true) {
        guard !closing else { return }
        closing = true
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        data.writeString(reason)
        let channel = context.channel
        let written = context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)))
        if wait {
            written.whenComplete { _ in channel.close(promise: nil) }
        } else {
            channel.close(promise: nil)
        }
    }

    /// The client shut its side of the TCP connection (the server allows half-closure for HTTP)
    /// without a close frame: nothing more can arrive, so the connection ends now rather than at
    /// the next failed write or ping.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            closing = true
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        LivenessSweeper.of(context.eventLoop).remove(self)
        _ = runner.submit(.end)
        onClose()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
