/// How a client came to see a message.
enum DeliveryKind: String, Sendable, Hashable, Codable {
    /// A live `message` frame.
    case live
    /// An entry of `joined.history` (first join or a resume with `since`).
    case resume
    /// An entry of a `history` answer the client asked for to fill a gap.
    case fill
}

/// One message as one client saw it, in the order the client received it.
struct Delivery: Sendable, Hashable, Codable {
    var seq: UInt64
    var id: String
    var user: String
    var kind: DeliveryKind
    /// Seconds since the run started.
    var at: Double
    /// The client's connection (`ConnectionSpan.generation`) it arrived on.
    var generation = 1
}

/// One ack a sender received for one of its messages.
struct AckObservation: Sendable, Hashable, Codable {
    var seq: UInt64
    /// When the ack arrived (seconds since the run started).
    var at: Double
    /// When the attempt it answers was sent (the latest send of that id before the ack).
    var attemptAt: Double
}

/// Everything known about one message a client sent (under one id, however often it was sent).
struct SendObservation: Sendable, Hashable, Codable {
    var room: String
    var id: String
    var user: String
    /// When the client created the message (it may not be connected then).
    var firstSentAt: Double
    /// When the first `send` frame for it was written (nil: never, no connection was joined).
    var firstAttemptAt: Double?
    var attempts: Int
    /// Every ack received for this id, in order (more than one after retries; all must agree).
    var acks: [AckObservation]
}

/// What one client saw in one room.
struct RoomStream: Sendable, Hashable, Codable {
    var user: String
    var room: String
    /// Deliveries in the order they were received (live, resume and fill alike).
    var deliveries: [Delivery]
}

/// What one checked client recorded during the run.
struct ClientObservations: Sendable, Hashable, Codable {
    var user: String
    var rooms: [String]
    /// False if the client was not connected and joined to all its rooms when the run ended: it
    /// is then not held to invariant 1 (it did not stay joined on a live node) and this is
    /// reported.
    var joinedAtEnd: Bool
    var sends: [SendObservation]
    var streams: [RoomStream]
    var errorsByCode: [String: Int]
    var reconnects: Int
    /// Every connection the client made or tried, oldest first.
    var spans: [ConnectionSpan] = []
    /// When this record was taken (seconds since the run started): connections still open then
    /// count as open until this time.
    var observedAt: Double = 0

    /// The connection with this generation.
    func span(_ generation: Int) -> ConnectionSpan? {
        spans.first { $0.generation == generation }
    }

    /// The connection that was open (or being opened) at `time`.
    func span(at time: Double) -> ConnectionSpan? {
        spans.last { $0.startedAt <= time && ($0.closedAt ?? observedAt) >= time }
    }
}

/// What happened to one planned fault when it ran.
struct FaultOutcome: Sendable, Hashable, Codable {
    var fault: PlannedFault
    /// When the signal was sent (seconds since the run started).
    var startedAt: Double
    /// When the node answered /readyz again (nil: it never did).
    var recoveredAt: Double?
    /// Seconds from the signal until the faulted node's users were gone from every room's
    /// presence (nil: not measured or never happened).
    var presenceCleanedAfter: Double?
    /// Extra detail, e.g. "SIGTERM exit code 0" or "did not exit within 15 s".
    var note: String
}

/// Everything the invariant checker is fed.
struct ChaosObservations: Sendable, Hashable, Codable {
    var clients: [ClientObservations]
    /// room -> messages the history route returned at the end, in the order returned.
    var history: [String: [HistoryEntry]]
    /// Rooms whose history could not be read (e.g. no node answered).
    var historyUnavailable: [String]
    var faults: [FaultOutcome]
    /// Messages kept per room by the nodes (their `--history-limit`); older ones are legitimately
    /// absent from history, and a resume may be `truncated` only when more than this many were missed.
    var historyLimit: Int
    /// Node ids by endpoint index (`n1`, ...), for reports.
    var nodeNames: [String] = []

    /// The name of the node at endpoint `index`.
    func nodeName(_ index: Int) -> String {
        index < nodeNames.count ? nodeNames[index] : "n\(index + 1)"
    }
}

/// One message as the history route returned it.
struct HistoryEntry: Sendable, Hashable, Codable {
    var seq: UInt64
    var id: String
    var user: String
}
