import ChatClient
import Histogram
import NIOCore

/// The state of every connection on one event loop: the delivery checker, the histograms and the
/// senders' schedule. Touched only on `loop` (hence `@unchecked Sendable`); the runner reads it
/// through `loop.submit`. One shard per loop means no locks on the per-frame path.
final class LoopShard: @unchecked Sendable {
    /// Counters the runner polls to know when set-up and drain are done.
    struct Progress: Sendable {
        var joined = 0
        var sent = 0
        var acked = 0
        var delivered = 0
        var errors = 0
        var closes = 0
    }

    /// Everything the shard measured, handed to the runner at the end.
    struct Outcome: Sendable {
        var checker: DeliveryChecker
        var endToEnd: Histogram<UInt64>
        var ack: Histogram<UInt64>
        var sendLag: Histogram<UInt64>
        var ackedInWindow: Int
        var deliveredInWindow: Int
        var errors: Int
        var firstError: String?
        var unexpectedCloses: Int
    }

    let loop: any EventLoop
    let plan: RunPlan
    private var clients: [BenchClient] = []
    private var senders: [BenchClient] = []
    private var checker: DeliveryChecker
    private var endToEnd = LatencySummary.makeHistogram()
    private var ackLatency = LatencySummary.makeHistogram()
    private var sendLag = LatencySummary.makeHistogram()
    private var progress = Progress()
    private var ackedInWindow = 0
    private var deliveredInWindow = 0
    private var firstError: String?
    private var unexpectedCloses = 0
    private var closing = false
    /// The send phase, in monotonic nanoseconds: [start, end).
    private var start: UInt64 = 0
    private var end: UInt64 = 0
    private var ticker: RepeatedTask?

    init(loop: any EventLoop, plan: RunPlan) {
        self.loop = loop
        self.plan = plan
        checker = DeliveryChecker(shape: plan.shape)
    }

    static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    /// Adopts a freshly connected client and says `hello` and `join` (on the loop).
    func attach(_ client: BenchClient, connection: ChatClientConnection) {
        loop.preconditionInEventLoop()
        client.connection = connection
        client.shard = self
        clients.append(client)
        if client.sender != nil { senders.append(client) }
        connection.hello(user: plan.userName(client.index), token: nil)
        connection.join(room: client.roomName, since: nil, ref: nil)
    }

    func handle(_ event: ServerEvent, from client: BenchClient) {
        switch event {
        case .message(let message):
            received(message, by: client)
        case .ack(_, let id, let seq):
            acked(id: id, seq: seq, by: client)
        case .joined(_, _, let seq, _, _, _):
            guard !client.joined else { return }
            client.joined = true
            checker.joined(connection: client.index, room: client.room, seq: seq)
            progress.joined += 1
        case .error(let code, let message, _, let id):
            progress.errors += 1
            if firstError == nil { firstError = "\(code): \(message)" }
            // A refused send (rate_limited, unavailable...) is not sequenced: free its slot.
            if let id, let parsed = BenchText.parseMessageID(id), parsed.sender == client.sender, client.inFlight > 0 {
                client.inFlight -= 1
            }
        case .welcome, .presence, .left, .history, .pong, .other:
            break
        }
    }

    private func received(_ message: ReceivedMessage, by client: BenchClient) {
        let now = Self.now()
        guard let (sender, counter) = BenchText.parseMessageID(message.id) else {
            checker.unexpectedMessage()
            return
        }
        guard checker.delivered(connection: client.index, seq: message.seq, sender: sender, counter: counter) else { return }
        progress.delivered += 1
        if now >= start && now < end && start != 0 { deliveredInWindow += 1 }
        if let sentAt = BenchText.parseSendTime(message.text), sentAt <= now {
            LatencySummary.record(nanoseconds: now - sentAt, into: &endToEnd)
        }
    }

    private func acked(id: String, seq: UInt64, by client: BenchClient) {
        let now = Self.now()
        guard let (sender, counter) = BenchText.parseMessageID(id), sender == client.sender, counter < client.sendTimes.count
        else {
            checker.unexpectedMessage()
            return
        }
        checker.acked(sender: sender, counter: counter, seq: seq)
        progress.acked += 1
        client.inFlight -= 1
        if now >= start && now < end { ackedInWindow += 1 }
        LatencySummary.record(nanoseconds: now - client.sendTimes[counter], into: &ackLatency)
        if case .closedLoop(let limit) = plan.mode, now < end {
            while client.inFlight < limit, send(from: client, intended: now, now: now) {}
        }
    }

    func connectionClosed(_ client: BenchClient, code: Int?) {
        progress.closes += 1
        if !closing {
            unexpectedCloses += 1
            if firstError == nil {
                firstError = "connection \(client.index) closed by the server (code \(code.map(String.init) ?? "none"))"
            }
        }
    }

    /// Starts the send phase at `start` (monotonic ns) for `duration` ns; every shard gets the same instant.
    func startSending(at start: UInt64, duration: UInt64) {
        loop.preconditionInEventLoop()
        self.start = start
        self.end = start + duration
        let delay = TimeAmount.nanoseconds(Int64(start > Self.now() ? start - Self.now() : 0))
        switch plan.mode {
        case .closedLoop(let limit):
            loop.scheduleTask(in: delay) {
                let now = Self.now()
                for client in self.senders {
                    while client.inFlight < limit, self.send(from: client, intended: now, now: now) {}
                }
            }
        case .once:
            loop.scheduleTask(in: delay) {
                let now = Self.now()
                for client in self.senders { self.send(from: client, intended: now, now: now) }
            }
        case .fixedRate(let schedule, let cap):
            ticker = loop.scheduleRepeatedTask(initialDelay: delay, delay: .milliseconds(1)) { task in
                self.tick(schedule: schedule, cap: cap, task: task)
            }
        }
    }

    /// Sends whatever is due on the fixed-rate schedule (every millisecond).
    private func tick(schedule: RateSchedule, cap: Int, task: RepeatedTask) {
        let now = Self.now()
        guard now >= start else { return }
        let elapsed = min(now, end - 1) - start
        for client in senders {
            guard let sender = client.sender else { continue }
            let due = schedule.dueCount(sender: sender, elapsed: elapsed)
            while client.nextCounter < due && client.inFlight < cap {
                let intended = start + schedule.dueTime(sender: sender, index: client.nextCounter)
                guard send(from: client, intended: intended, now: now) else { break }
            }
        }
        if now >= end {
            // Everything due before the end has been sent unless the in-flight cap held it back;
            // the cap's backlog keeps its place and goes out on the next ticks.
            let backlog = senders.contains { client in
                client.sender.map { client.nextCounter < schedule.totalCount(sender: $0, duration: end - start) } ?? false
            }
            if !backlog { task.cancel() }
        }
    }

    /// Sends the client's next message; false when it cannot send (not a sender, or closed).
    @discardableResult
    private func send(from client: BenchClient, intended: UInt64, now: UInt64) -> Bool {
        guard let sender = client.sender, let connection = client.connection, !client.closed else { return false }
        let counter = client.nextCounter
        client.nextCounter += 1
        client.inFlight += 1
        client.sendTimes.append(now)
        checker.sent(sender: sender, counter: counter)
        progress.sent += 1
        if plan.rate != nil { LatencySummary.record(nanoseconds: now > intended ? now - intended : 0, into: &sendLag) }
        connection.send(
            room: client.roomName, id: BenchText.messageID(sender: sender, counter: counter),
            text: BenchText.text(sentAt: intended, length: plan.textBytes))
        return true
    }

    var currentProgress: Progress { progress }

    /// Stops everything and closes every connection; later closes are expected ones.
    func closeAll() {
        loop.preconditionInEventLoop()
        closing = true
        ticker?.cancel()
        for client in clients where !client.closed { client.connection?.close() }
    }

    var outcome: Outcome {
        Outcome(
            checker: checker, endToEnd: endToEnd, ack: ackLatency, sendLag: sendLag, ackedInWindow: ackedInWindow,
            deliveredInWindow: deliveredInWindow, errors: progress.errors, firstError: firstError,
            unexpectedCloses: unexpectedCloses)
    }
}
