import ChatCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The operator CLI's HTTP client for a node's JSON API: one request per connection, a bounded
/// answer, a deadline. Built on NIO's HTTP/1 codec (the CLI talks only to plain-HTTP nodes; a
/// TLS-capable client library would add its whole stack to the node binary for this).
struct AdminClient: Sendable {
    /// `http://host:port` of the node asked.
    let host: String
    let port: Int
    let token: String?
    var timeout: Duration = .seconds(5)

    init(url: String, token: String?) throws {
        guard let parsed = URL(string: url), parsed.scheme == "http", let host = parsed.host, let port = parsed.port else {
            throw AdminClientError("--url must look like http://HOST:PORT, not \(url)")
        }
        self.host = host
        self.port = port
        self.token = token
    }

    init(host: String, port: Int, token: String?) {
        self.host = host
        self.port = port
        self.token = token
    }

    /// The same client, for another node.
    func at(host: String, port: Int) -> AdminClient {
        var client = AdminClient(host: host, port: port, token: token)
        client.timeout = timeout
        return client
    }

    /// Sends the request; returns the status and the body parsed as JSON (`.null` when empty or
    /// not JSON).
    func request(_ method: HTTPMethod, _ path: String) async throws -> (status: Int, body: JSONValue) {
        let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: (HTTPResponseHead, ByteBuffer).self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(2))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            promise.fail(error)  // every promise is completed, also when the connection fails
            throw AdminClientError("cannot reach \(host):\(port): \(error)")
        }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "Content-Length", value: "0")
        if let token { head.headers.add(name: "Authorization", value: "Bearer \(token)") }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let deadline = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000)) {
            promise.fail(AdminClientError("\(host):\(port) did not answer \(method) \(path) within \(timeout)"))
            channel.close(promise: nil)
        }
        defer {
            deadline.cancel()
            channel.close(promise: nil)
        }
        let (response, body) = try await promise.futureResult.get()
        let json = (try? body.withUnsafeReadableBytes { try JSONValue(parsing: $0) }) ?? .null
        return (Int(response.status.code), json)
    }
}

/// Collects one response (at most 4 MiB) and completes the promise with it.
private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<(HTTPResponseHead, ByteBuffer)>
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    init(promise: EventLoopPromise<(HTTPResponseHead, ByteBuffer)>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body(var part):
            guard body.readableBytes + part.readableBytes <= 4 << 20 else {
                promise.fail(AdminClientError("the answer is larger than 4 MiB"))
                return context.close(promise: nil)
            }
            body.writeBuffer(&part)
        case .end:
            if let head { promise.succeed((head, body)) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(AdminClientError("the node closed the connection before answering"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}

/// Why an operator command failed, for a person.
struct AdminClientError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
