import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A child process this tool started (a node or redis-server). It is only ever signalled by the
/// PID it was started with, and only while that child is still running (so a recycled PID is
/// never hit). Output goes to a log file, appended across restarts.
final class ManagedProcess: Sendable {
    let name: String
    let executable: String
    let arguments: [String]
    let logPath: String
    private let current = Mutex<Process?>(nil)

    init(name: String, executable: String, arguments: [String], logPath: String) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.logPath = logPath
        ProcessRegistry.shared.add(self)
    }

    /// Starts (or restarts) the process.
    func start() throws {
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        log.write(Data("\n=== start \(Date()): \(executable) \(arguments.joined(separator: " "))\n".utf8))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? log.close()
        current.withLock { $0 = process }
    }

    var pid: Int32? { current.withLock { $0?.isRunning == true ? $0?.processIdentifier : nil } }
    var isRunning: Bool { pid != nil }

    /// Sends `signal` to the running child; false if it is not running.
    @discardableResult
    func signal(_ signal: Int32) -> Bool {
        current.withLock { process in
            guard let process, process.isRunning else { return false }
            return kill(process.processIdentifier, signal) == 0
        }
    }

    /// Waits until the child exits; returns its exit status (nil on timeout).
    func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let status: Int32? = current.withLock { process in
                guard let process else { return -1 }
                return process.isRunning ? nil : process.terminationStatus
            }
            if let status { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Stops the child: SIGCONT (in case it is paused), SIGTERM, then SIGKILL after `grace`.
    func stop(grace: Duration = .seconds(5)) async {
        guard isRunning else { return }
        signal(SIGCONT)
        signal(SIGTERM)
        if await waitForExit(timeout: grace) == nil {
            signal(SIGKILL)
            _ = await waitForExit(timeout: .seconds(5))
        }
    }

    /// The same, blocking (for the SIGINT handler and the exit path).
    func stopBlocking(grace: Duration = .seconds(3)) {
        guard isRunning else { return }
        signal(SIGCONT)
        signal(SIGTERM)
        let deadline = ContinuousClock.now + grace
        while isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if isRunning {
            signal(SIGKILL)
            while isRunning { usleep(20_000) }
        }
    }
}

/// Every process this tool started, so an interrupt or an early exit stops them all (by PID),
/// and the clean-ups to run after them (taking the test network down).
final class ProcessRegistry: Sendable {
    static let shared = ProcessRegistry()
    private let processes = Mutex<[ManagedProcess]>([])
    private let cleanups = Mutex<[@Sendable () -> Void]>([])

    /// Runs `cleanup` once, after every process has been stopped (at exit, on error or SIGINT).
    func addCleanup(_ cleanup: @escaping @Sendable () -> Void) {
        cleanups.withLock { $0.append(cleanup) }
    }

    func add(_ process: ManagedProcess) {
        processes.withLock { $0.append(process) }
    }

    /// Stops every process still running: nodes first, then the rest (redis) in reverse order.
    func stopAllBlocking() {
        let all = processes.withLock { $0 }
        for process in all.reversed() { process.signal(SIGCONT) }
        for process in all.reversed() { process.stopBlocking() }
        let pending = cleanups.withLock { list in
            defer { list.removeAll() }
            return list
        }
        for cleanup in pending.reversed() { cleanup() }
    }

    /// Installs SIGINT/SIGTERM handlers that stop every child and exit with 130.
    func stopOnInterrupt() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            Foundation.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("chat-chaos: interrupted, stopping every process it started\n".utf8))
                ProcessRegistry.shared.stopAllBlocking()
                exit(130)
            }
            source.resume()
            return source
        }
    }
}
