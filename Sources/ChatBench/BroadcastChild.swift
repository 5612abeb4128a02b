import Foundation

/// A `chat-bench broadcast-server` started as a child of this process, on 127.0.0.1 and a port
/// the child picks; stopped by its PID (SIGTERM) in `stop()`. The child also exits by itself if
/// this process goes away (`--parent-pid`).
final class BroadcastChild: Sendable {
    let pid: Int32
    let port: Int
    private let process: Process

    private init(process: Process, port: Int) {
        self.process = process
        self.pid = process.processIdentifier
        self.port = port
    }

    var endpoint: BenchEndpoint { BenchEndpoint(host: "127.0.0.1", port: port) }

    /// Starts the child and waits (up to 10 s) for its "listening on" line.
    static func start(threads: Int) async throws -> BroadcastChild {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "broadcast-server", "--host", "127.0.0.1", "--port", "0", "--threads", String(threads),
            "--parent-pid", String(getpid()),
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let reader = output.fileHandleForReading
        let line = try await withThrowingTaskGroup(of: String?.self) { tasks in
            tasks.addTask { Self.readLine(reader) }
            tasks.addTask {
                try await Task.sleep(for: .seconds(10))
                return nil
            }
            let first = try await tasks.next() ?? nil
            tasks.cancelAll()
            return first
        }
        guard let line, let port = BroadcastServerCommand.port(fromListeningLine: line) else {
            process.terminate()
            throw BenchError("the broadcast server did not start (its first line: \(line ?? "none"))")
        }
        return BroadcastChild(process: process, port: port)
    }

    /// Reads bytes up to the first newline (blocking; runs on its own task).
    private static func readLine(_ handle: FileHandle) -> String? {
        var bytes: [UInt8] = []
        while true {
            let chunk = handle.readData(ofLength: 1)
            guard let byte = chunk.first else { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }

    /// SIGTERM by PID, then waits for the exit (SIGKILL after 5 s).
    func stop() async {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while process.isRunning && clock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(pid, SIGKILL) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }
}
