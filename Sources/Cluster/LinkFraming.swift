import NIOCore
import NIOExtras

/// The framing of internal links: a 4-byte big-endian length before each frame.
enum LinkFraming {
    /// Largest frame accepted before the peer has proved the secret: a handshake frame is < 200
    /// bytes, so a stranger can never make a node buffer more than this.
    static let handshakeFrameLimit = 4 * 1024
    /// How long a peer has to complete the handshake before the link is closed.
    static let handshakeTimeout: TimeAmount = .seconds(5)

    /// Adds the framing handlers; returns the decoder so the link can raise its limit once the
    /// handshake is done.
    @discardableResult
    static func addHandlers(to pipeline: ChannelPipeline.SynchronousOperations) throws -> LinkFrameDecoder {
        let decoder = LinkFrameDecoder(limit: handshakeFrameLimit)
        try pipeline.addHandler(ByteToMessageHandler(decoder))
        try pipeline.addHandler(LengthFieldPrepender(lengthFieldBitLength: .fourBytes))
        return decoder
    }
}

/// A frame's length is over the link's limit.
struct LinkFrameTooLarge: Error, CustomStringConvertible {
    var length: Int
    var limit: Int
    var description: String { "frame of \(length) bytes is over the limit of \(limit)" }
}

/// Splits a link's bytes into frames. The length is checked against `limit` as soon as its four
/// bytes arrive, before any of the body is buffered. Used only on its channel's event loop.
final class LinkFrameDecoder: ByteToMessageDecoder, @unchecked Sendable {
    typealias InboundOut = ByteBuffer

    var limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard Int(length) <= limit else { throw LinkFrameTooLarge(length: Int(length), limit: limit) }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}
