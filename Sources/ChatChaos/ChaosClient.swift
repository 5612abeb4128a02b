import ChatClient
import NIOCore

/// One simulated user. All of its state lives on one event loop (the loop its connections use),
/// so callbacks, timers and snapshots never race.
///
/// Behaviour (what a well-behaved protocol v1 client does, PROTOCOL.md):
/// - Connects to the nodes' client ports round-robin, starting at its own index; says `hello`,
///   then `join`s each of its rooms with `since` = the highest seq it has seen (0 at first).
/// - While sending is on, creates `rate` messages per second (ids `user-N`, rooms in turn); a
///   message stays pending until acked. Pending messages are re-sent with the SAME id after each
///   re-join, 300 ms after an `error` that names them (`unavailable`, `rate_limited`, ...), and
///   when unacked for 3 s, so retries exercise idempotency. A refused join is sent again 300 ms
///   later; after three refusals in a row the client moves to the next node.
/// - A gap in seqs (a message or resume entry above highest+1) is filled with `history` requests
///   (the checker still counts the gap: filling only keeps its other checks meaningful).
/// - Records every connection attempt (`ConnectionSpan`: node, joins with `since` and the
///   `joined` answer, when it closed and whether it was dropped for silence) and every delivery
///   with how it arrived and on which connection.
/// - Liveness: after 1 s without a frame it pings; without an answer 2.5 s later it drops the
///   connection (a paused node keeps TCP open) and reconnects to the next node.
/// - A `watcher` never sends and never reconnects: it is the presence probe of one node.
final class ChaosClient: Sendable {
    enum Role: Sendable { case checked, watcher }

    struct Pending {
        var room: String
        var text: String
        var lastAttempt: Double
    }

    final class State {
        var generation = 0
        var connection: ChatClientConnection?
        var nodeIndex: Int
        var welcomed = false
        var joined: Set<String> = []
        var sending = false
        var stopped = false
        var counter = 0
        var nextSendAt = 0.0
        var pending: [String: Pending] = [:]
        var sends: [String: SendObservation] = [:]
        var lastAttemptAt: [String: Double] = [:]
        var streams: [String: [Delivery]] = [:]
        var highest: [String: UInt64] = [:]
        var errors: [String: Int] = [:]
        /// Join errors in a row on the current connection (reset by a `joined`).
        var joinFailures = 0
        var reconnects = 0
        var lastHeard = 0.0
        var pingSentAt: Double?
        var ticker: RepeatedTask?
        var spans: [Int: ConnectionSpan] = [:]

        init(nodeIndex: Int) {
            self.nodeIndex = nodeIndex
        }
    }

    let user: String
    let rooms: [String]
    let role: Role
    let loop: any EventLoop
    private let clock: RunClock
    private let endpoints: [Endpoint]
    private let rate: Double
    private let box: NIOLoopBoundBox<State>

    init(
        user: String, rooms: [String], role: Role, firstNode: Int, endpoints: [Endpoint], rate: Double, loop: any EventLoop, clock: RunClock
    ) {
        self.user = user
        self.rooms = rooms
        self.role = role
        self.endpoints = endpoints
        self.rate = rate
        self.loop = loop
        self.clock = clock
        box = NIOLoopBoundBox.makeBoxSendingValue(State(nodeIndex: firstNode), eventLoop: loop)
    }

    // MARK: - Control (any thread)

    func start() {
        loop.execute {
            let state = self.box.value
            state.ticker = self.loop.scheduleRepeatedTask(initialDelay: .milliseconds(50), delay: .milliseconds(50)) { _ in
                self.tick()
            }
            self.connect()
        }
    }

    func setSending(_ on: Bool) async {
        try? await loop.submit {
            self.box.value.sending = on
            self.box.value.nextSendAt = self.clock.now()
        }.get()
    }

    /// True once connected, welcomed and joined to every room.
    func isReady() async -> Bool {
        (try? await loop.submit {
            let s = self.box.value; return s.welcomed && s.joined.count == self.rooms.count
        }.get()) ?? false
    }

    func pendingCount() async -> Int {
        (try? await loop.submit { self.box.value.pending.count }.get()) ?? 0
    }

    func snapshot() async -> ClientObservations {
        let observations = try? await loop.submit {
            let s = self.box.value
            return ClientObservations(
                user: self.user, rooms: self.rooms,
                joinedAtEnd: s.connection != nil && s.welcomed && s.joined.count == self.rooms.count,
                sends: s.sends.values.sorted { $0.firstSentAt < $1.firstSentAt },
                streams: self.rooms.map { RoomStream(user: self.user, room: $0, deliveries: s.streams[$0] ?? []) },
                errorsByCode: s.errors, reconnects: s.reconnects,
                spans: s.spans.values.sorted { $0.generation < $1.generation }, observedAt: self.clock.now())
        }.get()
        return observations
            ?? ClientObservations(user: user, rooms: rooms, joinedAtEnd: false, sends: [], streams: [], errorsByCode: [:], reconnects: 0)
    }

    func shutdown() async {
        try? await loop.submit {
            let s = self.box.value
            s.stopped = true
            s.ticker?.cancel()
            s.connection?.close()
        }.get()
    }

    // MARK: - Connection lifecycle (on loop)

    private func connect() {
        let s = box.value
        guard !s.stopped else { return }
        s.generation += 1
        let generation = s.generation
        let node = s.nodeIndex % endpoints.count
        let endpoint = endpoints[node]
        s.spans[generation] = ConnectionSpan(generation: generation, node: node, startedAt: clock.now())
        var configuration = ChatClientConfiguration(host: endpoint.host, port: endpoint.port)
        configuration.connectTimeout = .seconds(2)
        let loop = self.loop
        Task {
            do {
                let connection = try await ChatClientConnection.connect(
                    configuration, group: loop,
                    onEvent: { self.handle($0, generation: generation) },
                    onClose: { _ in loop.execute { self.closed(generation: generation) } })
                loop.execute { self.connected(connection, generation: generation) }
            } catch {
                loop.execute { self.closed(generation: generation) }
            }
        }
    }

    private func connected(_ connection: ChatClientConnection, generation: Int) {
        let s = box.value
        guard generation == s.generation, !s.stopped else {
            connection.abort()
            return
        }
        s.connection = connection
        s.joinFailures = 0
        let now = clock.now()
        s.lastHeard = now
        s.pingSentAt = nil
        s.spans[generation]?.connectedAt = now
        connection.hello(user: user, token: nil)
        for room in rooms {
            let since = s.highest[room] ?? 0
            s.spans[generation]?.joins[room] = ConnectionSpan.Join(since: since, sentAt: now)
            connection.join(room: room, since: since, ref: room)
        }
    }

    /// The connection closed or could not be made: move to the next node.
    private func closed(generation: Int) {
        let s = box.value
        if s.spans[generation]?.closedAt == nil { s.spans[generation]?.closedAt = clock.now() }
        guard generation == s.generation, !s.stopped else { return }
        if s.connection != nil { s.reconnects += 1 }
        s.connection = nil
        s.welcomed = false
        s.joined = []
        guard role == .checked else { return }
        s.nodeIndex += 1
        s.generation += 1
        loop.scheduleTask(in: .milliseconds(150)) { self.connect() }
    }

    // MARK: - Frames (on loop)

    private func handle(_ event: ServerEvent, generation: Int) {
        let s = box.value
        guard generation == s.generation else { return }
        let now = clock.now()
        s.lastHeard = now
        s.pingSentAt = nil
        switch event {
        case .welcome(_, let node, _):
            s.welcomed = true
            s.spans[generation]?.nodeName = node
        case .joined(let room, _, let seq, let history, _, let truncated):
            s.joined.insert(room)
            s.joinFailures = 0
            s.spans[generation]?.joins[room]?.answeredAt = now
            s.spans[generation]?.joins[room]?.seq = seq
            s.spans[generation]?.joins[room]?.truncated = truncated
            for message in history { deliver(message, kind: .resume, generation: generation, state: s) }
            for (id, pending) in s.pending where pending.room == room { transmit(id, state: s) }
        case .message(let message):
            deliver(message, kind: .live, generation: generation, state: s)
        case .history(let room, _, let messages):
            guard rooms.contains(room) else { return }
            for message in messages {
                s.streams[room, default: []].append(
                    Delivery(seq: message.seq, id: message.id, user: message.user, kind: .fill, at: now, generation: generation))
            }
        case .ack(_, let id, let seq):
            guard s.sends[id] != nil else { return }
            let attempt = s.lastAttemptAt[id] ?? now
            s.sends[id]!.acks.append(AckObservation(seq: seq, at: now, attemptAt: attempt))
            s.pending.removeValue(forKey: id)
        case .error(let code, _, let ref, let id):
            s.errors[code, default: 0] += 1
            if id == nil, let room = ref, rooms.contains(room), !s.joined.contains(room) {
                rejoin(room, after: code, generation: generation, state: s)
            }
            if let id, s.pending[id] != nil {
                loop.scheduleTask(in: .milliseconds(300)) {
                    let state = self.box.value
                    if state.generation == generation { self.transmit(id, state: state) }
                }
            }
        case .left, .presence, .pong, .other:
            break
        }
    }

    /// A join was refused (`unavailable`: the node is cut off from the room's majority, or a
    /// leader is being chosen): join again 300 ms later with the highest seq seen, and after
    /// three refusals in a row drop the connection and try the next node, as a client that
    /// wants its rooms must.
    private func rejoin(_ room: String, after code: String, generation: Int, state s: State) {
        s.joinFailures += 1
        if s.joinFailures >= 3, let connection = s.connection {
            s.joinFailures = 0
            connection.abort()
            return
        }
        loop.scheduleTask(in: .milliseconds(300)) {
            let state = self.box.value
            guard state.generation == generation, let connection = state.connection, !state.joined.contains(room) else { return }
            let since = state.highest[room] ?? 0
            state.spans[generation]?.joins[room] = ConnectionSpan.Join(since: since, sentAt: self.clock.now())
            connection.join(room: room, since: since, ref: room)
        }
    }

    private func deliver(_ message: ReceivedMessage, kind: DeliveryKind, generation: Int, state s: State) {
        guard rooms.contains(message.room) else { return }
        let high = s.highest[message.room] ?? 0
        if message.seq > high + 1, let connection = s.connection {
            var before = message.seq
            var requests = 0
            while before > high + 1, requests < 50 {
                let limit = min(200, before - high - 1)
                connection.history(room: message.room, before: before, limit: Int(limit), ref: "fill")
                before -= limit
                requests += 1
            }
        }
        s.streams[message.room, default: []].append(
            Delivery(seq: message.seq, id: message.id, user: message.user, kind: kind, at: clock.now(), generation: generation))
        s.highest[message.room] = max(high, message.seq)
    }

    private func transmit(_ id: String, state s: State) {
        guard let connection = s.connection, let pending = s.pending[id], s.joined.contains(pending.room) else { return }
        let now = clock.now()
        connection.send(room: pending.room, id: id, text: pending.text)
        s.pending[id]?.lastAttempt = now
        s.lastAttemptAt[id] = now
        s.sends[id]?.attempts += 1
        if s.sends[id]?.firstAttemptAt == nil { s.sends[id]?.firstAttemptAt = now }
    }

    private func tick() {
        let s = box.value
        guard !s.stopped else { return }
        let now = clock.now()
        if role == .checked, s.sending, rate > 0 {
            var created = 0
            while s.nextSendAt <= now, created < 5 {
                s.nextSendAt += 1 / rate
                created += 1
                s.counter += 1
                let id = "\(user)-\(s.counter)"
                let room = rooms[s.counter % rooms.count]
                s.pending[id] = Pending(room: room, text: "chaos \(id)", lastAttempt: now)
                s.sends[id] = SendObservation(
                    room: room, id: id, user: user, firstSentAt: now, firstAttemptAt: nil, attempts: 0, acks: [])
                transmit(id, state: s)
            }
        }
        guard let connection = s.connection, role == .checked else { return }
        for (id, pending) in s.pending where now - pending.lastAttempt > 3 { transmit(id, state: s) }
        if let pingSentAt = s.pingSentAt {
            if now - pingSentAt > 2.5 {
                s.spans[s.generation]?.silentSince = s.lastHeard
                connection.abort()
            }
        } else if now - s.lastHeard > 1 {
            s.pingSentAt = now
            connection.ping(ref: "live")
        }
    }
}
