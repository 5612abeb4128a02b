import NIOCore
import NIOPosix

/// What an event stream of a connection yields: server frames, then its end.
public enum ChatClientStreamItem: Sendable, Hashable {
    case event(ServerEvent)
    /// The connection closed (close code, nil when the TCP connection dropped). Always last.
    case closed(Int?)
}

extension ChatClientConnection {
    /// Connects and returns the connection with an `AsyncStream` of everything it receives, for
    /// code that prefers `for await` over callbacks (tests, the chaos checker's probes). The
    /// stream buffers without bound; it finishes after `.closed`. The group defaults to NIO's
    /// shared singleton.
    public static func connect(
        _ configuration: ChatClientConfiguration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> (ChatClientConnection, AsyncStream<ChatClientStreamItem>) {
        let (stream, continuation) = AsyncStream.makeStream(of: ChatClientStreamItem.self)
        do {
            let connection = try await connect(
                configuration, group: group,
                onEvent: { continuation.yield(.event($0)) },
                onClose: { code in
                    continuation.yield(.closed(code))
                    continuation.finish()
                })
            return (connection, stream)
        } catch {
            continuation.finish()
            throw error
        }
    }
}
