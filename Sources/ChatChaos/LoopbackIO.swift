import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Minimal request/response over TCP for the tool's own probes: HTTP GETs to nodes
/// (`Connection: close`, body by Content-Length, chunked or EOF) and Redis PING. Every call has a
/// deadline, because a paused node accepts connections but never answers.
enum LoopbackIO {
    struct HTTPResponse: Sendable {
        var status: Int
        var body: [UInt8]
    }

    enum Failure: Error {
        case timedOut
        case malformed
    }

    /// Sends `request` and reads until the peer closes or `complete` says the bytes suffice.
    static func exchange(
        host: String, port: Int, request: String, timeout: Duration,
        complete: @escaping @Sendable ([UInt8]) -> Bool = { _ in false }
    ) async throws -> [UInt8] {
        let amount = TimeAmount.nanoseconds(Int64(timeout / .nanoseconds(1)))
        let (channel, result) = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(amount)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let promise = channel.eventLoop.makePromise(of: [UInt8].self)
                    let collector = Collector(promise: promise, timeout: amount, complete: complete)
                    try channel.pipeline.syncOperations.addHandler(collector)
                    return (channel, promise.futureResult)
                }
            }
        channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
        return try await result.get()
    }

    /// GET `path` from a node.
    static func get(endpoint: Endpoint, path: String, timeout: Duration = .seconds(2)) async throws -> HTTPResponse {
        let request = "GET \(path) HTTP/1.1\r\nHost: \(endpoint.host):\(endpoint.port)\r\nConnection: close\r\n\r\n"
        let bytes = try await exchange(host: endpoint.host, port: endpoint.port, request: request, timeout: timeout)
        return try parse(bytes)
    }

    /// True if a redis-server answers PING on host:port.
    static func redisPing(host: String = "127.0.0.1", port: Int) async -> Bool {
        let bytes = try? await exchange(
            host: host, port: port, request: "PING\r\n", timeout: .seconds(1),
            complete: { $0.contains(UInt8(ascii: "\n")) })
        return bytes.map { String(decoding: $0, as: UTF8.self).hasPrefix("+PONG") } ?? false
    }

    static func parse(_ bytes: [UInt8]) throws -> HTTPResponse {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let split = bytes.firstRange(of: separator) else { throw Failure.malformed }
        let head = String(decoding: bytes[..<split.lowerBound], as: UTF8.self).lowercased()
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.split(separator: " ").count >= 2,
            let status = Int(statusLine.split(separator: " ")[1])
        else { throw Failure.malformed }
        var body = Array(bytes[split.upperBound...])
        if lines.contains(where: { $0.hasPrefix("transfer-encoding:") && $0.contains("chunked") }) {
            body = try dechunk(body)
        } else if let length = lines.first(where: { $0.hasPrefix("content-length:") })
            .flatMap({ Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }), length <= body.count
        {
            body = Array(body.prefix(length))
        }
        return HTTPResponse(status: status, body: body)
    }

    static func dechunk(_ bytes: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = bytes[index...].firstRange(of: [13, 10]) else { throw Failure.malformed }
            let sizeText = String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw Failure.malformed }
            if size == 0 { break }
            let start = lineEnd.upperBound
            guard start + size <= bytes.count else { throw Failure.malformed }
            out.append(contentsOf: bytes[start..<start + size])
            index = start + size + 2
        }
        return out
    }

    /// `tcp` distinct free TCP ports and `udp` distinct free UDP ports on 127.0.0.1 (all held while
    /// picking, released before returning).
    static func freePorts(tcp: Int, udp: Int) -> (tcp: [Int], udp: [Int]) {
        var held: [Int32] = []
        defer { held.forEach { close($0) } }
        func pick(_ type: Int32) -> Int {
            let fd = socket(AF_INET, type, 0)
            held.append(fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
            }
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            return Int(UInt16(bigEndian: address.sin_port))
        }
        let tcpPorts = (0..<tcp).map { _ in pick(Int32(SOCK_STREAM.rawValue)) }
        let udpPorts = (0..<udp).map { _ in pick(Int32(SOCK_DGRAM.rawValue)) }
        return (tcpPorts, udpPorts)
    }

    /// Gathers every byte until the peer closes (or `complete` is satisfied), then closes; fails
    /// after the timeout.
    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private let promise: EventLoopPromise<[UInt8]>
        private let timeout: TimeAmount
        private let complete: @Sendable ([UInt8]) -> Bool
        private var bytes: [UInt8] = []
        private var done = false
        private var deadline: Scheduled<Void>?

        init(promise: EventLoopPromise<[UInt8]>, timeout: TimeAmount, complete: @escaping @Sendable ([UInt8]) -> Bool) {
            self.promise = promise
            self.timeout = timeout
            self.complete = complete
        }

        func handlerAdded(context: ChannelHandlerContext) {
            let channel = context.channel
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                self.finish(.failure(Failure.timedOut))
                channel.close(promise: nil)
            }
        }

        private func finish(_ result: Result<[UInt8], any Error>) {
            guard !done else { return }
            done = true
            deadline?.cancel()
            promise.completeWith(result)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            bytes.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
            if complete(bytes) {
                finish(.success(bytes))
                context.close(promise: nil)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            finish(.success(bytes))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            finish(.failure(error))
            context.close(promise: nil)
        }
    }
}
