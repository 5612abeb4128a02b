/// What a node says while it is cut off, and about failing destinations, without flooding logs.
///
/// - While a node that has peers to find (seeds, or members it knows) sees no live peer, it says
///   every `interval` what it tries: which seeds, which dead members it re-probes, how many
///   datagrams arrived and how many of them failed authentication (a wrong cluster secret shows
///   up here), and how many sends failed, by error.
/// - A send error is logged at most once per destination per `interval`; all are counted.
struct GossipHealthLog: Sendable {
    /// 5 s: often enough to follow an outage as it happens, rare enough to stay readable.
    static let interval: Int64 = 5_000_000_000

    private var lastLonelyReport: Int64 = .min
    private var lonelySince: Int64?
    private var badAtLastReport: UInt64 = 0
    private var sendErrors: [String: UInt64] = [:]
    private var lastErrorLog: [GossipAddress: Int64] = [:]

    /// Counts a failed send; true when it should be logged now.
    mutating func sendFailed(to destination: GossipAddress, error: String, now: SWIMInstant) -> Bool {
        sendErrors[error, default: 0] += 1
        if let last = lastErrorLog[destination], now.nanoseconds - last < Self.interval { return false }
        if lastErrorLog.count > 1024 { lastErrorLog = [:] }
        lastErrorLog[destination] = now.nanoseconds
        return true
    }

    /// The warning to log now, if this node has no live peer and the last one is `interval` old.
    mutating func lonelyReport(instance: SWIMInstance, seeds: [GossipAddress], badDatagrams: UInt64, now: SWIMInstant) -> String? {
        let dead = instance.deadMembers
        guard !instance.hasLeft, instance.myself.status == .alive, instance.aliveCount <= 1,
            !seeds.isEmpty || !dead.isEmpty || !instance.isJoined
        else {
            lonelySince = nil
            sendErrors = [:]
            return nil
        }
        // Alone for a whole interval first: a node that is starting, or that loses its peers for
        // a moment, says nothing.
        if lonelySince == nil { badAtLastReport = badDatagrams }
        let since = lonelySince ?? now.nanoseconds
        lonelySince = since
        guard now.nanoseconds - since >= Self.interval,
            lastLonelyReport == .min || now.nanoseconds - lastLonelyReport >= Self.interval
        else { return nil }
        let firstReport = lastLonelyReport < since
        lastLonelyReport = now.nanoseconds
        let bad = badDatagrams - min(badDatagrams, badAtLastReport)
        badAtLastReport = badDatagrams
        defer { sendErrors = [:] }
        let seedList = seeds.map(\.description).joined(separator: ", ")
        let deadList = dead.map { "\($0.id)@\($0.address)" }.joined(separator: ", ")
        let errors = sendErrors.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
        let window = firstReport ? "for \((now.nanoseconds - since) / 1_000_000_000) s" : "in the last \(Self.interval / 1_000_000_000) s"
        return "no live peer: "
            + (instance.isJoined ? "re-probing" : "joining through")
            + " seeds [\(seedList)]"
            + (dead.isEmpty ? "" : " and dead members [\(deadList)]")
            + "; \(window): \(bad) datagrams failed authentication (a wrong cluster secret?)"
            + (errors.isEmpty ? ", no send errors" : ", send errors: \(errors)")
    }
}
