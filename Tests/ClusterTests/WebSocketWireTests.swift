import NIOCore
import Testing

@testable import Cluster

@Suite("WebSocketWire: server text frames as wire bytes")
struct WebSocketWireTests {
    func header(_ length: Int) -> [UInt8] {
        let frame = WebSocketWire.text(ByteBuffer(repeating: UInt8(ascii: "x"), count: length))
        #expect(frame.readableBytes > length)
        return Array(frame.readableBytesView.prefix(frame.readableBytes - length))
    }

    @Test func lengthsUseTheShortestEncoding() {
        #expect(header(0) == [0x81, 0])
        #expect(header(125) == [0x81, 125])
        #expect(header(126) == [0x81, 126, 0, 126])
        #expect(header(65535) == [0x81, 126, 0xFF, 0xFF])
        #expect(header(65536) == [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0])
    }

    @Test func thePayloadFollowsUnmasked() {
        let frame = WebSocketWire.text(ByteBuffer(string: "{\"type\":\"pong\"}"))
        #expect(Array(frame.readableBytesView.dropFirst(2)) == Array("{\"type\":\"pong\"}".utf8))
    }
}
