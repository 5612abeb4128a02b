import ArgumentParser
import NIOCore

/// Command-line options shared by `fanout`, `latency` and `idle`.
struct LoadOptions: ParsableArguments {
    @Option(name: .customLong("url"), help: "A node's WebSocket URL, ws://host:port[/ws] (repeat for several nodes).")
    var urls: [String] = []

    @Option(name: .customLong("pid"), help: "The PID of the node behind each --url (optional): reports its CPU time.")
    var pids: [Int32] = []

    @Option(help: "Rooms.")
    var rooms = 4

    @Option(help: "Members (connections) per room.")
    var members = 50

    @Option(name: .customLong("senders"), help: "Senders per room (the first members of each room).")
    var senders = 5

    @Option(help: "Seconds of the send phase.")
    var duration: Double = 10

    @Option(name: .customLong("text-bytes"), help: "Bytes of every message text (the send time is embedded in it).")
    var textBytes = 64

    @Option(help: "Event loops (threads) of the client side.")
    var loops = 1

    @Option(help: "Longest wait, in seconds, for the last acks and deliveries after the send phase.")
    var drain: Double = 10

    @Option(help: "Seconds between the last join and the first send.")
    var settle: Double = 0.5

    @Option(name: .customLong("connect-concurrency"), help: "Connections opened at the same time during set-up.")
    var connectConcurrency = 64

    @Flag(help: "Print only the JSON line (no table).")
    var json = false

    @Flag(
        name: .customLong("compare-broadcast"),
        help: "Also run the same scenario against a broadcast server started as a child process (the limit).")
    var compareBroadcast = false

    @Option(name: .customLong("broadcast-threads"), help: "Event loops of the broadcast server child.")
    var broadcastThreads = System.coreCount

    func settings() throws -> LoadSettings {
        guard pids.isEmpty || pids.count == urls.count else { throw ValidationError("give one --pid per --url, or none") }
        guard broadcastThreads >= 1 else { throw ValidationError("--broadcast-threads must be at least 1") }
        do {
            return try LoadSettings(
                urls: urls, rooms: rooms, members: members, sendersPerRoom: senders, duration: duration, textBytes: textBytes,
                loops: loops, drain: drain, settle: settle, connectConcurrency: connectConcurrency,
                compareBroadcast: compareBroadcast)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
