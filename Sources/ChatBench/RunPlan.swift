/// Everything a run needs to know besides where to connect: shape, sending pattern, timing, names.
struct RunPlan: Sendable {
    /// How senders send during the send phase.
    enum SendMode: Sendable, Hashable {
        /// As fast as acks allow: each sender keeps `inFlight` sends unacknowledged.
        case closedLoop(inFlight: Int)
        /// A fixed total rate; a sender with `inFlightCap` sends unacknowledged waits (its sends
        /// keep their scheduled times, so the wait shows as latency).
        case fixedRate(RateSchedule, inFlightCap: Int)
        /// Every sender sends exactly one message (the idle scenario's liveness check).
        case once
    }

    var shape: RunShape
    var mode: SendMode
    var textBytes: Int
    /// Length of the send phase.
    var duration: Duration
    /// Longest wait after the send phase for the last acks and deliveries.
    var drainTimeout: Duration
    /// Pause between the last `joined` and the first send (presence frames settle).
    var settle: Duration
    /// Connections opened at the same time during set-up.
    var connectConcurrency: Int
    /// Makes this run's rooms and users unique on a node that keeps earlier runs' rooms.
    var tag: String

    func roomName(_ room: Int) -> String { "bench-\(tag)-r\(room)" }
    func userName(_ connection: Int) -> String { "b\(tag)-\(connection)" }

    var inFlightLimit: Int {
        switch mode {
        case .closedLoop(let inFlight): inFlight
        case .fixedRate(_, let cap): cap
        case .once: 1
        }
    }

    var rate: Double? {
        if case .fixedRate(let schedule, _) = mode { return schedule.totalRate }
        return nil
    }

    /// A fresh tag: 8 hex digits, different for every run of every process.
    static func makeTag() -> String {
        let value = UInt32.random(in: 0...UInt32.max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}
