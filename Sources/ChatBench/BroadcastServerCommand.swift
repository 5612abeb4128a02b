import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `chat-bench broadcast-server`: the limit server (see `BroadcastServer`), until killed.
struct BroadcastServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broadcast-server",
        abstract: "Minimal NIO WebSocket broadcast server on /ws: every send goes to every connection of its room.",
        discussion: """
            Speaks just enough protocol v1 for chat-bench: hello -> welcome, join -> joined (current seq, no \
            history, no presence), send -> the message (next seq of the room) to every member of the room, then \
            ack; leave, ping and history are answered trivially. No cluster, no history, no rate limit. \
            Prints "chat-bench broadcast-server listening on ws://HOST:PORT/ws" once it listens.
            """)

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port (0: any free port, printed on the first line).")
    var port = 8090

    @Option(help: "Event loops (threads).")
    var threads = System.coreCount

    @Option(name: .customLong("parent-pid"), help: "Exit when this process is gone (used by --compare-broadcast).")
    var parentPID: Int32?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        let server = try await BroadcastServer.start(host: host, port: port, threads: threads)
        // Unbuffered: the parent of a --compare-broadcast run waits for this line.
        FileHandle.standardOutput.write(Data("chat-bench broadcast-server listening on ws://\(host):\(server.port)/ws\n".utf8))
        if let parentPID {
            server.group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .milliseconds(500)) { _ in
                if getppid() != parentPID { Foundation.exit(0) }
            }
        }
        try await server.waitUntilClosed()
    }

    /// Reads the port out of the "listening on" line.
    static func port(fromListeningLine line: String) -> Int? {
        guard line.hasPrefix("chat-bench broadcast-server listening on "),
            let url = line.split(separator: " ").last,
            let endpoint = BenchEndpoint(url: String(url))
        else { return nil }
        return endpoint.port
    }
}
