/// Clients of the group simulator: they send with ids, retry with the same id (after a timeout,
/// `unavailable` or `notLeader`), sometimes ask for a read barrier, and probe for progress.
extension GroupSimulation {
    struct Client {
        var room: String
        var user: String
        var home: String
        var counter = 0
        /// The id being sent (nil: idle), or a read barrier when `reading`.
        var current: String?
        var reading = false
        var readIssuedAt: UInt64 = 0
        var attempt = 0
        var target: String?
        /// Where the last attempt went, and the target of the last one that timed out (the
        /// next attempt tries another).
        var sentTo: String?
        var silent: String?
        var deadline: UInt64 = 0
        /// Whether the current attempt got an answer (a timed-out one picks another target).
        var answered = false
        var seqs: [String: UInt64] = [:]
        /// A probe sends one message and must be acked by this time.
        var probeDeadline: UInt64?
        var probeAcked = false
    }

    /// A client gives up on an attempt after this long and retries with the same id.
    static let clientTimeout: UInt64 = 600_000_000

    func addClients() {
        for room in rooms {
            for k in 0..<configuration.clientsPerRoom {
                let home = roster.randomElement(using: &rng)!
                clients.append(Client(room: room, user: "u\(k)", home: home))
                schedule(.clientWake(client: clients.count - 1), after: rng.between(0, 200_000_000))
            }
        }
    }

    /// A probe per room whose every configuration in play keeps a running majority: its one
    /// send must be acked within `bound`.
    func startProbes(bound: UInt64) {
        for room in rooms {
            guard quorumHolds(room) else {
                trace?("\(now / 1_000_000) ms no progress check of \(room): its majority is gone\n\(report(room))")
                progressSkipped += 1
                continue
            }
            progressChecks += 1
            // The probe's client sits at a node that reaches a majority of the roster both ways (a
            // client stuck behind a partition proves nothing about the majority's progress).
            let connected = roster.filter { node in
                let reached = roster.filter {
                    $0 == node || (!cut.contains(Link(from: node, to: $0)) && !cut.contains(Link(from: $0, to: node)))
                }
                return reached.count * 2 > roster.count
            }
            let homes = connected.isEmpty ? roster : connected
            var client = Client(room: room, user: "probe\(progressChecks)", home: homes.randomElement(using: &rng)!)
            client.probeDeadline = now + bound
            clients.append(client)
            let id = clients.count - 1
            clientWake(id)
            heap.push(.clientWake(client: id), at: now + bound)
        }
    }

    /// Whether a majority of the voters of the room's committed configuration, and of every
    /// configuration in a running replica's uncommitted tail, are running (same incarnation).
    public func quorumHolds(_ room: String) -> Bool {
        let running = Set(nodes.filter { $0.state == .running }.map(\.replica))
        var configs: [GroupConfig] = checker.committedConfig(room).map { [$0] } ?? []
        let committed = checker.rooms[room]?.entries.count ?? 0
        for node in nodes where node.state == .running {
            guard let group = node.groups[room], group.lastIndex > committed else { continue }
            configs += ((committed + 1)...group.lastIndex).compactMap { group.entry(at: $0)?.config }
        }
        return !configs.isEmpty && configs.allSatisfy { $0.isMajority(running) }
    }

    func clientWake(_ id: Int) {
        var client = clients[id]
        if let deadline = client.probeDeadline, now >= deadline {
            if !client.probeAcked {
                checker.fail("progress: room \(client.room): no ack within \(deadline / 1_000_000) ms although a majority is up")
            }
            return
        }
        if client.current == nil {
            guard client.probeDeadline == nil || client.counter == 0 else { return }
            client.counter += 1
            client.reading = client.probeDeadline == nil && rng.chance(0.1)
            client.current = client.reading ? "read" : "m\(client.counter)"
            client.readIssuedAt = checker.committedSeq(client.room)
        } else if now < client.deadline {
            return
        } else if !client.answered {
            // Timed out: the target may be gone or cut off, try another.
            client.silent = client.sentTo
            client.target = nil
        }
        if client.home != client.target, node(client.home).state == .crashed {
            client.home = roster.filter { node($0).state != .crashed }.randomElement(using: &rng) ?? client.home
        }
        let placement = placement(of: client.room)
        let others = placement.filter { $0 != client.silent }
        let target = client.target ?? (others.isEmpty ? placement : others).randomElement(using: &rng) ?? client.home
        client.attempt += 1
        client.sentTo = target
        client.answered = false
        client.deadline = now + Self.clientTimeout
        clients[id] = client
        let request = nextRequest
        nextRequest += 1
        requests[request] = (id, client.attempt, client.reading ? nil : client.current)
        let event: GroupEvent =
            client.reading
            ? .readBarrier(request: request)
            : .send(request: request, user: client.user, id: client.current!, text: "\(client.user) \(client.current!)")
        if client.probeDeadline != nil {
            trace?("\(now / 1_000_000) ms probe \(client.room) attempt \(client.attempt) \(client.home) -> \(target)")
        }
        hop(from: client.home, to: target, .request(to: target, room: client.room, event))
        if presenceRng.chance(0.3) {
            // The client's node tells the replica it believes leads who is present through it.
            let users = ["ann", "bob", "cy"]
            let update: PresenceUpdate =
                switch presenceRng.between(0, 3) {
                case 0: .join(users[Int(presenceRng.between(0, 2))])
                case 1: .leave(users[Int(presenceRng.between(0, 2))])
                default: .exactly(Set(users.filter { _ in presenceRng.chance(0.5) }))
                }
            hop(from: client.home, to: target, .request(to: target, room: client.room, .presence(node: client.home, update)))
        }
        schedule(.clientWake(client: id), after: Self.clientTimeout)
    }

    /// Carries a client's request or a reply between its node and another over the network.
    func hop(from: String, to: String, _ event: Event) {
        if from == to { return schedule(event, after: 0) }
        guard !cut.contains(Link(from: from, to: to)), !rng.chance(configuration.loss) else { return }
        schedule(event, after: latency())
    }

    func answer(_ request: UInt64, reply: GroupReply, from node: String) {
        guard let (id, _, _) = requests[request] else { return }
        hop(from: node, to: clients[id].home, .reply(client: id, request: request, reply))
    }

    func clientReply(_ id: Int, request: UInt64, reply: GroupReply) {
        guard let (_, attempt, messageID) = requests.removeValue(forKey: request) else { return }
        var client = clients[id]
        if let messageID {
            checker.checkSendReply(room: client.room, user: client.user, id: messageID, reply: reply, earlier: client.seqs[messageID])
            switch reply {
            case .acked(let seq), .duplicate(let seq): client.seqs[messageID] = seq
            default: ()
            }
        } else if attempt == client.attempt, client.reading {
            checker.checkRead(room: client.room, issuedAt: client.readIssuedAt, reply: reply)
        }
        if client.probeDeadline != nil { trace?("\(now / 1_000_000) ms probe \(client.room) attempt \(attempt): \(reply)") }
        guard attempt == client.attempt, client.current != nil else { return }
        switch reply {
        case .acked, .duplicate, .readable:
            if client.probeDeadline != nil { client.probeAcked = true }
            client.current = nil
            client.target = nil
            clients[id] = client
            if client.probeDeadline == nil { schedule(.clientWake(client: id), after: rng.between(20_000_000, 200_000_000)) }
        case .unavailable:
            let placement = placement(of: client.room)
            client.target = placement.randomElement(using: &rng)
            client.deadline = now
            client.answered = true
            clients[id] = client
            schedule(.clientWake(client: id), after: rng.between(50_000_000, 200_000_000))
        case .recovered, .refused:
            return  // operator answers; never sent to clients
        case .notLeader(let hint):
            client.target = hint
            client.deadline = now
            client.answered = true
            clients[id] = client
            schedule(.clientWake(client: id), after: 1_000_000)
        }
    }

    /// Sends a probe to every room that keeps a running majority and runs until `bound` has
    /// passed: false if one was not acked in time (or anything else broke).
    @discardableResult
    public func expectProgress(within bound: UInt64 = 3_000_000_000) -> Bool {
        startProbes(bound: bound)
        return run(for: bound + 100_000_000)
    }

    // MARK: The whole run

    /// Runs `rounds` of chaos, each followed by a heal and a progress check. Returns the first
    /// violation, prefixed with the seed and step so that it replays exactly.
    public func runChaos() -> String? {
        for _ in 0..<configuration.rounds {
            chaosEnabled = true
            faultGeneration += 1
            scheduleNextFault(generation: faultGeneration)
            guard run(for: configuration.chaos) else { break }
            chaosEnabled = false
            healAll()
            if configuration.recoverLostGroups {
                guard run(for: 1_000_000_000) else { break }
                // Then a second for the recovered leaders to replace the stale replicas' tails.
                if recoverLostGroups() > 0 { guard run(for: 1_000_000_000) else { break } }
            }
            startProbes(bound: configuration.progressBound)
            guard run(for: configuration.progressBound + 100_000_000) else { break }
        }
        guard let violation = checker.violation else { return nil }
        return "seed \(configuration.seed) step \(steps) at \(now / 1_000_000) ms: \(violation)"
    }
}

extension GroupSimulation {
    /// One line per replica of `room`: state, role, epoch, leader, log and commit, voters.
    public func report(_ room: String) -> String {
        var lines = ["\(room): placement \(placement(of: room)), roster \(roster), committed seq \(checker.committedSeq(room))"]
        for node in nodes {
            guard let group = node.groups[room] else {
                lines.append("  \(node.name) \(node.state)")
                continue
            }
            let s = group.status
            lines.append(
                "  \(node.replica) \(node.state) \(s.role) epoch \(s.epoch) leader \(s.leader?.description ?? "-") "
                    + "last \(s.lastIndex) commit \(s.commitIndex) voters \(s.voters) majorityAlive \(s.majorityAlive) "
                    + "view \(liveView(of: node.name).map(\.description).sorted())")
        }
        return lines.joined(separator: "\n")
    }
}
