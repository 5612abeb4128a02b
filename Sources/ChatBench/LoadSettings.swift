/// The validated command-line settings shared by the fan-out, latency and idle scenarios.
struct LoadSettings: Sendable, Hashable {
    var endpoints: [BenchEndpoint]
    var rooms: Int
    var members: Int
    var sendersPerRoom: Int
    var duration: Duration
    var textBytes: Int
    var loops: Int
    var drain: Duration
    var settle: Duration
    var connectConcurrency: Int
    var compareBroadcast: Bool

    /// Checks every number and URL; with no `--url`, `--compare-broadcast` must be on (the run then
    /// measures the limit server only).
    init(
        urls: [String], rooms: Int, members: Int, sendersPerRoom: Int, duration: Double, textBytes: Int, loops: Int,
        drain: Double, settle: Double, connectConcurrency: Int, compareBroadcast: Bool
    ) throws(BenchError) {
        var endpoints: [BenchEndpoint] = []
        for url in urls {
            guard let endpoint = BenchEndpoint(url: url) else { throw BenchError("--url \(url): expected ws://host:port[/path]") }
            endpoints.append(endpoint)
        }
        guard !endpoints.isEmpty || compareBroadcast else { throw BenchError("give at least one --url (or --compare-broadcast)") }
        guard duration > 0, duration <= 86_400 else { throw BenchError("--duration must be between 0 and 86400 seconds") }
        guard (BenchText.minimumTextBytes...4000).contains(textBytes) else {
            throw BenchError("--text-bytes must be between \(BenchText.minimumTextBytes) and 4000")
        }
        guard (1...64).contains(loops) else { throw BenchError("--loops must be between 1 and 64") }
        guard drain >= 0, settle >= 0 else { throw BenchError("--drain and --settle must not be negative") }
        guard connectConcurrency >= 1 else { throw BenchError("--connect-concurrency must be at least 1") }
        // The shape's own checks (rooms, members, senders).
        _ = try RunShape(rooms: rooms, members: members, sendersPerRoom: sendersPerRoom, endpointCount: max(1, endpoints.count))
        self.endpoints = endpoints
        self.rooms = rooms
        self.members = members
        self.sendersPerRoom = sendersPerRoom
        self.duration = .nanoseconds(Int64(duration * 1e9))
        self.textBytes = textBytes
        self.loops = loops
        self.drain = .nanoseconds(Int64(drain * 1e9))
        self.settle = .nanoseconds(Int64(settle * 1e9))
        self.connectConcurrency = connectConcurrency
        self.compareBroadcast = compareBroadcast
    }

    /// The shape for a target with `endpointCount` endpoints.
    func shape(endpointCount: Int) throws(BenchError) -> RunShape {
        try RunShape(rooms: rooms, members: members, sendersPerRoom: sendersPerRoom, endpointCount: endpointCount)
    }

    /// A plan for one run (a fresh tag, so every run has rooms of its own).
    func plan(mode: RunPlan.SendMode, endpointCount: Int) throws(BenchError) -> RunPlan {
        RunPlan(
            shape: try shape(endpointCount: endpointCount), mode: mode, textBytes: textBytes, duration: duration, drainTimeout: drain,
            settle: settle, connectConcurrency: connectConcurrency, tag: RunPlan.makeTag())
    }
}
