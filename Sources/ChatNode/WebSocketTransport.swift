import Cluster
import Metrics
import NIOCore
import NIOWebSocket

/// A client's WebSocket, written directly on its channel: frames arrive as wire bytes and go to
/// the socket through `RawFrameWriter`; `ClientConnection` flushes once per event-loop tick.
struct WebSocketTransport: ClientTransport {
    static let slowConsumerCloseCode = WebSocketErrorCode(codeNumber: 4008)
    /// How long a client cut off for not reading gets to answer the close before the socket is
    /// closed without ceremony.
    static let slowConsumerGrace: TimeAmount = .seconds(2)

    let channel: any Channel
    let raw: RawFrameWriter

    var eventLoop: any EventLoop { channel.eventLoop }

    var isWritable: Bool { channel.isWritable }

    func write(_ frame: ByteBuffer) {
        raw.writeWire(frame)
    }

    func flush() {
        channel.flush()
    }

    func closeSlowConsumer() {
        Counter(label: "chat_slow_consumer_disconnects_total").increment()
        var data = channel.allocator.buffer(capacity: 64)
        data.write(webSocketErrorCode: Self.slowConsumerCloseCode)
        data.writeString("slow consumer: reconnect and resume with since")
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: data), promise: nil)
        channel.eventLoop.scheduleTask(in: Self.slowConsumerGrace) { [channel] in channel.close(promise: nil) }
    }

    func close(code: UInt16, reason: String) {
        var data = channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: WebSocketErrorCode(codeNumber: Int(code)))
        data.writeString(reason)
        let channel = self.channel
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
