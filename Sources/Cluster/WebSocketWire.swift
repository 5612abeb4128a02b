import NIOCore

/// A server-to-client WebSocket text frame, as the bytes that go on the wire (RFC 6455 §5.2:
/// FIN + opcode 1, no mask, 7-, 16- or 64-bit length). A message delivered to many sockets is
/// framed once and the same buffer is written to each of them.
public enum WebSocketWire {
    public static func text(_ payload: ByteBuffer) -> ByteBuffer {
        var frame = ByteBufferAllocator().buffer(capacity: payload.readableBytes + 10)
        frame.writeInteger(UInt8(0x81))
        let length = payload.readableBytes
        if length < 126 {
            frame.writeInteger(UInt8(length))
        } else if length <= Int(UInt16.max) {
            frame.writeInteger(UInt8(126))
            frame.writeInteger(UInt16(length))
        } else {
            frame.writeInteger(UInt8(127))
            frame.writeInteger(UInt64(length))
        }
        var body = payload
        frame.writeBuffer(&body)
        return frame
    }
}
