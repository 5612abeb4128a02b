import ArgumentParser

/// `chat-bench`: the load tool of the chat cluster (fan-out, latency, idle) and its limit server.
@main
struct ChatBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-bench",
        abstract: "Load tool for chat-node (protocol v1 over WebSocket) and the broadcast server it compares with.",
        discussion: """
            Every scenario stops by itself and checks what it received: lost, duplicated, out-of-order and \
            inconsistent messages must all be 0, or the exit status is 1. Output: a table, then one JSON line \
            (--json: the JSON line only). Nodes must be started with --sends-per-second and --send-burst high \
            enough for the load (e.g. 100000), or sends are refused with rate_limited.
            """,
        subcommands: [FanoutCommand.self, LatencyCommand.self, IdleCommand.self, BroadcastServerCommand.self]
    )
}
