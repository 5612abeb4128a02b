import ChatCore
import NIOCore
import NIOWebSocket

/// One WebSocket connection of the broadcast server, after the upgrade.
///
/// It answers protocol v1 just enough for chat-bench: `hello` → `welcome`; `join` → `joined`
/// (the room's current seq, empty history and member list, no presence frames); `send` to a
/// joined room → the message to every member of the room (including the sender) and an `ack`;
/// `leave` → `left`; `ping` → `pong`; `history` → an empty `history`. Frames are parsed with the
/// node's own parser (`ClientFrame.decode`) and answered with its encoder (`ServerFrame`), so
/// the limit server moves the same bytes as a node and parses the same way. Anything else gets an
/// `error` frame. No auth, no rate limit, no idempotency, no slow-consumer cut-off.
final class BroadcastHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// Frame limits: the node's defaults (the parser does not rate-limit).
    private static let limits = ChatLimits()

    private let hub: BroadcastHub
    private let outbox: LoopOutbox
    private let id: Int
    private var context: ChannelHandlerContext?
    private var user: String?
    private var rooms: Set<String> = []
    private var needsFlush = false
    /// Set while this connection is on its outbox's list of connections to flush.
    var awaitingFlush = false

    init(hub: BroadcastHub, outbox: LoopOutbox, id: Int) {
        self.hub = hub
        self.outbox = outbox
        self.id = id
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        leaveAll()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        leaveAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Writes a frame the outbox delivers; false when the connection is gone.
    func writeWithoutFlush(_ frame: WebSocketFrame) -> Bool {
        guard let context else { return false }
        context.write(wrapOutboundOut(frame), promise: nil)
        return true
    }

    func flush() {
        context?.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            let text = String(buffer: frame.unmaskedData)
            handle(text, context: context)
        case .binary:
            reply(.error(ProtocolError(.badRequest, "binary frames are not supported")), context: context)
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.write(wrapOutboundOut(pong), promise: nil)
            needsFlush = true
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readInteger(as: UInt16.self) ?? 1000
            var payload = context.channel.allocator.buffer(capacity: 2)
            payload.writeInteger(code)
            let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(close)).whenComplete { _ in channel.close(promise: nil) }
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    private func handle(_ text: String, context: ChannelHandlerContext) {
        let frame: ClientFrame
        switch ClientFrame.decode(text, limits: Self.limits) {
        case .success(let decoded): frame = decoded
        case .failure(let error):
            reply(.error(error), context: context)
            return
        }
        if case .hello(let name, _) = frame {
            guard user == nil else {
                reply(.error(ProtocolError(.badRequest, "hello was already said")), context: context)
                return
            }
            user = name
            reply(.welcome(user: name, node: "broadcast", session: "b\(id)"), context: context)
            return
        }
        guard let user else {
            reply(.error(ProtocolError(.helloFirst, "say hello first")), context: context)
            return
        }
        switch frame {
        case .hello:
            break
        case .join(let room, _, let ref):
            guard !rooms.contains(room) else {
                reply(.error(ProtocolError(.badRequest, "already joined", ref: ref)), context: context)
                return
            }
            rooms.insert(room)
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let seq = hub.join(room: room, id: id, handler: bound, outbox: outbox)
            reply(.joined(room: room, ref: ref, seq: seq, history: [], members: [], truncated: false), context: context)
        case .send(let room, let messageID, let body):
            guard rooms.contains(room), let seq = hub.broadcast(room: room, id: messageID, user: user, text: body) else {
                reply(.error(ProtocolError(.notJoined, "join the room first", id: messageID)), context: context)
                return
            }
            reply(.ack(room: room, id: messageID, seq: seq), context: context)
        case .leave(let room, let ref):
            guard rooms.remove(room) != nil else {
                reply(.error(ProtocolError(.notJoined, "not joined", ref: ref)), context: context)
                return
            }
            hub.leave(room: room, id: id)
            reply(.left(room: room, ref: ref), context: context)
        case .history(let room, _, _, let ref):
            reply(.history(room: room, ref: ref, messages: []), context: context)
        case .ping(let ref):
            reply(.pong(ref: ref), context: context)
        }
    }

    private func reply(_ frame: ServerFrame, context: ChannelHandlerContext) {
        let data = context.channel.allocator.buffer(bytes: frame.bytes)
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: data)), promise: nil)
        needsFlush = true
    }

    private func leaveAll() {
        for room in rooms { hub.leave(room: room, id: id) }
        rooms.removeAll()
    }
}
