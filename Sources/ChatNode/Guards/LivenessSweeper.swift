import NIOCore
import Synchronization

/// A client socket whose deadlines a `LivenessSweeper` checks (on the socket's event loop).
protocol LivenessChecked: AnyObject {
    func checkDeadlines(now: UInt64)
}

/// One per event loop: once every `period`, asks each client socket on that loop whether a
/// deadline passed (the hello deadline, the ping interval and timeout of `LivenessProbe`).
///
/// Why not a timer per socket: a scheduled task, its promise and closure cost about 1 KiB per
/// idle connection (measured with `chat-bench idle`: 8.9 KiB per connection with two timers per
/// socket against 7.7 without); a table entry costs a few dozen bytes, and a sweep of 10,000
/// sockets a second is a few microseconds of work. Deadlines are late by at most one period.
///
/// The table is touched on its loop only; the sweepers themselves are made once per loop and live
/// as long as the process (their repeated task ends with the loop).
final class LivenessSweeper: @unchecked Sendable {
    static let period: TimeAmount = .seconds(1)
    private static let sweepers = Mutex<[ObjectIdentifier: LivenessSweeper]>([:])

    private let loop: any EventLoop
    private var sockets: [ObjectIdentifier: any LivenessChecked] = [:]

    private init(loop: any EventLoop) {
        self.loop = loop
    }

    /// The sweeper of `loop` (made and started on first use).
    static func of(_ loop: any EventLoop) -> LivenessSweeper {
        let (sweeper, isNew) = sweepers.withLock { sweepers -> (LivenessSweeper, Bool) in
            if let sweeper = sweepers[ObjectIdentifier(loop)] { return (sweeper, false) }
            let sweeper = LivenessSweeper(loop: loop)
            sweepers[ObjectIdentifier(loop)] = sweeper
            return (sweeper, true)
        }
        if isNew {
            loop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in sweeper.sweep() }
        }
        return sweeper
    }

    /// On the loop.
    func add(_ socket: any LivenessChecked) {
        loop.preconditionInEventLoop()
        sockets[ObjectIdentifier(socket)] = socket
    }

    /// On the loop.
    func remove(_ socket: any LivenessChecked) {
        loop.preconditionInEventLoop()
        sockets[ObjectIdentifier(socket)] = nil
    }

    private func sweep() {
        let now = NIODeadline.now().uptimeNanoseconds
        for socket in Array(sockets.values) { socket.checkDeadlines(now: now) }
    }
}
