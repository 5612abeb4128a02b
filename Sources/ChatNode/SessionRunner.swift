import DequeModule
import NIOCore
import Synchronization

/// Runs a `ClientSession` over a connection's inputs, in order, without a task per connection:
/// a task exists only while there is something to process, so an idle connection holds no task
/// (and no task stack). Inputs come from the socket's event loop; the session is touched only
/// by the one draining task (the `running` flag hands it from one drain to the next).
///
/// Backpressure: when more than `highWater` inputs wait, the socket stops reading; it reads again
/// once fewer than `lowWater` wait, so a client that floods frames cannot grow the queue.
final class SessionRunner<Session: ClientSession>: @unchecked Sendable {
    enum Input: Sendable {
        case text(String)
        case binary
        case end
    }

    private struct State {
        var queue: Deque<Input> = []
        var running = false
        var paused = false
        var ended = false
    }

    static var highWater: Int { 64 }
    static var lowWater: Int { 8 }

    private var session: Session
    private let channel: any Channel
    private let state = Mutex(State())

    init(session: Session, channel: any Channel) {
        self.session = session
        self.channel = channel
    }

    /// Starts the session (before any frame is handled).
    func start() {
        state.withLock { $0.running = true }
        Task {
            guard await session.start() else {
                state.withLock { $0.ended = true }
                channel.close(promise: nil)
                return
            }
            await drain()
        }
    }

    /// Queues an input (on the event loop); returns true when the socket should stop reading.
    func submit(_ input: Input) -> Bool {
        let (startDrain, pause) = state.withLock { state -> (Bool, Bool) in
            guard !state.ended else { return (false, false) }
            if case .end = input { state.ended = true }
            state.queue.append(input)
            let pause = !state.paused && state.queue.count > Self.highWater
            if pause { state.paused = true }
            guard !state.running else { return (false, pause) }
            state.running = true
            return (true, pause)
        }
        if startDrain { Task { await drain() } }
        return pause
    }

    private func drain() async {
        while true {
            let (next, resume) = state.withLock { state -> (Input?, Bool) in
                guard let input = state.queue.popFirst() else {
                    state.running = false
                    return (nil, false)
                }
                let resume = state.paused && state.queue.count < Self.lowWater
                if resume { state.paused = false }
                return (input, resume)
            }
            if resume {
                channel.setOption(ChannelOptions.autoRead, value: true).whenSuccess { [channel] in channel.read() }
            }
            guard let next else { return }
            switch next {
            case .text(let text): await session.handle(text: text)
            case .binary: session.rejectBinary()
            case .end: await session.end()
            }
        }
    }
}
