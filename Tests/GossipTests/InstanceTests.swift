import Testing

@testable import Gossip

/// The state machine alone, driven by hand with an injected clock.
@Suite("SWIMInstance", .timeLimit(.minutes(1)))
struct InstanceTests {
    static func address(_ i: Int) -> GossipAddress { GossipAddress(host: "10.0.0.\(i)", port: 7946) }
    static func member(_ i: Int, incarnation: UInt64 = 1, status: MemberStatus = .alive) -> GossipMember {
        GossipMember(id: "m\(i)", address: address(i), metadata: ["host": "10.0.0.\(i)"], status: status, incarnation: incarnation)
    }
    static func t(_ ms: Int64) -> SWIMInstant { SWIMInstant(nanoseconds: ms * 1_000_000) }

    /// An instance "m0" that knows m1...m(n-1) alive (through a sync from m1).
    static func makeInstance(others n: Int, incarnation: UInt64 = 1, settings: SWIMSettings = .init()) -> SWIMInstance {
        var instance = SWIMInstance(
            settings: settings, myself: member(0, incarnation: incarnation), seeds: [address(1)], now: t(0), randomSeed: 42)
        _ = instance.onTick(now: t(0))
        let sync = SWIMMessage(
            senderID: "m1", senderIncarnation: 1, kind: .sync(replyRequested: false),
            updates: (1...n).map { SWIMUpdate(member: member($0)) })
        _ = instance.onMessage(sync, from: address(1), now: t(1))
        return instance
    }

    static func sends(_ directives: [SWIMDirective]) -> [(SWIMMessage, GossipAddress)] {
        directives.compactMap { if case .send(let m, let to) = $0 { (m, to) } else { nil } }
    }

    static func changes(_ directives: [SWIMDirective]) -> [GossipMember] {
        directives.compactMap { if case .memberChanged(let m) = $0 { m } else { nil } }
    }

    /// Delivers what the instance sends to members that answer: every ping to a member outside
    /// `silent` is acked (with a refutation when the ping told the member it is suspected).
    /// Returns the member changes seen.
    static func answer(_ out: [SWIMDirective], _ instance: inout SWIMInstance, now: SWIMInstant, silent: Set<String> = []) -> [GossipMember]
    {
        var changes = Self.changes(out)
        var queue = Self.sends(out)
        while !queue.isEmpty {
            let (message, to) = queue.removeFirst()
            guard case .ping(let seq, let target) = message.kind, !silent.contains(target) else { continue }
            var me = instance.member(target)!
            var updates: [SWIMUpdate] = []
            if let claim = message.updates.first(where: { $0.member.id == target }), claim.member.status != .alive {
                me.incarnation = claim.member.incarnation + 1
                me.status = .alive
                updates = [SWIMUpdate(member: me)]
            }
            let ack = SWIMMessage(
                senderID: target, senderIncarnation: me.incarnation, kind: .ack(sequence: seq, member: target, incarnation: me.incarnation),
                updates: updates)
            let more = instance.onMessage(ack, from: to, now: now)
            changes += Self.changes(more)
            queue += Self.sends(more)
        }
        return changes
    }

    @Test("joins through its seed with a full-state exchange")
    func join() {
        var instance = SWIMInstance(myself: Self.member(0), seeds: [Self.address(1), Self.address(0)], now: Self.t(0), randomSeed: 1)
        #expect(!instance.isJoined)
        let first = instance.onTick(now: Self.t(0))
        let requests = Self.sends(first).filter { if case .sync(true) = $0.0.kind { true } else { false } }
        #expect(requests.map(\.1) == [Self.address(1)])  // not to itself
        #expect(Self.changes(first).map(\.id) == ["m0"])
        // No answer: retried with back-off.
        #expect(Self.sends(instance.onTick(now: Self.t(100))).isEmpty)
        #expect(!Self.sends(instance.onTick(now: Self.t(500))).filter { if case .sync(true) = $0.0.kind { true } else { false } }.isEmpty)
        #expect(instance.nextDeadline <= Self.t(1500))
        let reply = SWIMMessage(
            senderID: "m1", senderIncarnation: 1, kind: .sync(replyRequested: false),
            updates: [SWIMUpdate(member: Self.member(1)), SWIMUpdate(member: Self.member(2))])
        let out = instance.onMessage(reply, from: Self.address(1), now: Self.t(600))
        #expect(instance.isJoined)
        #expect(Set(Self.changes(out).map(\.id)) == ["m1", "m2"])
        #expect(instance.members.map(\.id) == ["m0", "m1", "m2"])
        #expect(instance.members.allSatisfy { $0.status == .alive })

        // The seed's side: a join request is answered with the full state, the joiner is gossiped.
        var seed = Self.makeInstance(others: 3)
        let request = SWIMMessage(
            senderID: "m9", senderIncarnation: 5, kind: .sync(replyRequested: true),
            updates: [SWIMUpdate(member: Self.member(9, incarnation: 5))])
        let answer = seed.onMessage(request, from: Self.address(9), now: Self.t(10))
        #expect(Self.changes(answer).map(\.id) == ["m9"])
        let replies = Self.sends(answer).filter { $0.1 == Self.address(9) }
        #expect(Set(replies.flatMap(\.0.updates).map(\.member.id)) == ["m0", "m1", "m2", "m3", "m9"])
        let next = Self.sends(seed.onTick(now: Self.t(400)))
        #expect(next.contains { $0.0.updates.contains { $0.member.id == "m9" } })
    }

    @Test("a suspected member refutes with a higher incarnation, and the refutation wins")
    func refutation() {
        var instance = Self.makeInstance(others: 4, incarnation: 3)
        var suspect = Self.member(0, incarnation: 3, status: .suspect)
        suspect.metadata = [:]
        let gossip = SWIMMessage(
            senderID: "m2", senderIncarnation: 1, kind: .ping(sequence: 7, target: "m0"),
            updates: [SWIMUpdate(member: suspect, suspectedBy: "m2")])
        let out = instance.onMessage(gossip, from: Self.address(2), now: Self.t(50))
        #expect(instance.myself.incarnation == 4)
        #expect(instance.myself.status == .alive)
        #expect(Self.changes(out).map(\.incarnation) == [4])
        // The ack already carries the refutation.
        let ack = Self.sends(out).first { if case .ack(7, "m0", 4) = $0.0.kind { true } else { false } }
        #expect(ack?.0.updates.contains { $0.member.id == "m0" && $0.member.status == .alive && $0.member.incarnation == 4 } == true)
        #expect(instance.localHealth == 1)

        // Seen from another member: suspect(m1, 1) then alive(m1, 2) clears it.
        var other = Self.makeInstance(others: 4)
        _ = other.onMessage(
            SWIMMessage(
                senderID: "m2", senderIncarnation: 1, kind: .gossip,
                updates: [SWIMUpdate(member: Self.member(1, status: .suspect), suspectedBy: "m2")]), from: Self.address(2), now: Self.t(10))
        #expect(other.member("m1")?.status == .suspect)
        // A stale alive (same incarnation) does not clear a suspicion.
        _ = other.onMessage(
            SWIMMessage(senderID: "m3", senderIncarnation: 1, kind: .gossip, updates: [SWIMUpdate(member: Self.member(1))]),
            from: Self.address(3), now: Self.t(20))
        #expect(other.member("m1")?.status == .suspect)
        let cleared = other.onMessage(
            SWIMMessage(senderID: "m1", senderIncarnation: 2, kind: .gossip, updates: [SWIMUpdate(member: Self.member(1, incarnation: 2))]),
            from: Self.address(1), now: Self.t(30))
        #expect(other.member("m1")?.status == .alive)
        #expect(Self.changes(cleared).map(\.status) == [.alive])
    }

    @Test("a failed probe leads to suspicion, then death; confirmations shorten the timeout")
    func suspicionAndDeath() throws {
        // Everyone answers but m5.
        var instance = Self.makeInstance(others: 9)
        let maxTimeout = instance.suspicionTimeout(confirmations: 0)
        let minTimeout = instance.suspicionTimeout(confirmations: 3)
        #expect(minTimeout < maxTimeout)
        #expect(instance.suspicionTimeout(confirmations: 1) < maxTimeout)
        #expect(instance.suspicionTimeout(confirmations: 2) < instance.suspicionTimeout(confirmations: 1))
        #expect(instance.suspicionTimeout(confirmations: 3) == instance.suspicionTimeout(confirmations: 30))
        var suspectedAt: SWIMInstant?
        var deadAt: SWIMInstant?
        var now = Self.t(1)
        var queue: [(SWIMMessage, GossipAddress)] = []
        while now < Self.t(30_000) && deadAt == nil {
            now = max(instance.nextDeadline, now)
            var out = instance.onTick(now: now)
            while true {
                for c in Self.changes(out) where c.id == "m5" {
                    if c.status == .suspect && suspectedAt == nil { suspectedAt = now }
                    if c.status == .dead { deadAt = now }
                    #expect(c.status != .alive)
                }
                for c in Self.changes(out) where c.id != "m5" && c.id != "m0" { Issue.record("unexpected change \(c)") }
                queue += Self.sends(out)
                guard !queue.isEmpty else { break }
                let (message, to) = queue.removeFirst()
                out = []
                if case .ping(let seq, let target) = message.kind, target != "m5" {
                    let ack = SWIMMessage(senderID: target, senderIncarnation: 1, kind: .ack(sequence: seq, member: target, incarnation: 1))
                    out = instance.onMessage(ack, from: to, now: now)
                }
            }
        }
        let suspected = try #require(suspectedAt)
        let dead = try #require(deadAt)
        // Nobody confirms: the maximal timeout applies.
        #expect(dead.nanoseconds - suspected.nanoseconds >= maxTimeout)
        #expect(dead.nanoseconds - suspected.nanoseconds <= maxTimeout + instance.settings.protocolPeriod.nanoseconds)

        // Three other members confirm at once: declared after the minimum.
        var confirmed = Self.makeInstance(others: 9)
        _ = confirmed.onMessage(
            SWIMMessage(
                senderID: "m2", senderIncarnation: 1, kind: .gossip,
                updates: [SWIMUpdate(member: Self.member(5, status: .suspect), suspectedBy: "m2")]), from: Self.address(2), now: Self.t(10))
        for i in [3, 4, 6] {
            _ = confirmed.onMessage(
                SWIMMessage(
                    senderID: "m\(i)", senderIncarnation: 1, kind: .gossip,
                    updates: [SWIMUpdate(member: Self.member(5, status: .suspect), suspectedBy: "m\(i)")]), from: Self.address(i),
                now: Self.t(20))
        }
        var confirmedDeadAt: SWIMInstant?
        now = Self.t(20)
        while confirmedDeadAt == nil && now < Self.t(20_000) {
            now = max(confirmed.nextDeadline, now)
            if Self.changes(confirmed.onTick(now: now)).contains(where: { $0.id == "m5" && $0.status == .dead }) { confirmedDeadAt = now }
        }
        let at = try #require(confirmedDeadAt)
        #expect(at.nanoseconds - Self.t(10).nanoseconds <= minTimeout + 1_000_000)
    }

    @Test("after a 2 s freeze: refutes suspicion and death, declares nobody dead on its first ticks")
    func freeze() {
        var instance = Self.makeInstance(others: 9, incarnation: 10)
        // Before the freeze: a probe is running and m4 is suspect (from gossip).
        var now = Self.t(1)
        _ = instance.onMessage(
            SWIMMessage(
                senderID: "m2", senderIncarnation: 1, kind: .gossip,
                updates: [SWIMUpdate(member: Self.member(4, status: .suspect), suspectedBy: "m2")]), from: Self.address(2), now: now)
        for _ in 0..<3 {
            now = max(instance.nextDeadline, now)
            _ = instance.onTick(now: now)
        }
        // Frozen for 2 s. Then the datagrams that waited in the socket buffer are read: pings
        // from everyone carrying suspect(m0) and dead(m0).
        now = now + .seconds(2)
        var out: [SWIMDirective] = []
        for i in 1...9 where i != 4 {
            let claim = i % 2 == 0 ? Self.member(0, incarnation: 10, status: .dead) : Self.member(0, incarnation: 10, status: .suspect)
            out += instance.onMessage(
                SWIMMessage(
                    senderID: "m\(i)", senderIncarnation: 1, kind: .ping(sequence: UInt64(i), target: "m0"),
                    updates: [SWIMUpdate(member: claim, suspectedBy: "m\(i)")]), from: Self.address(i), now: now)
        }
        #expect(instance.myself.incarnation == 11)
        #expect(instance.myself.status == .alive)
        #expect(instance.stats.stalls == 1)
        #expect(instance.localHealth == instance.settings.maxLocalHealthMultiplier)
        let acks = Self.sends(out).filter { if case .ack = $0.0.kind { true } else { false } }
        #expect(acks.count == 8)
        #expect(acks.allSatisfy { $0.0.senderIncarnation == 11 })
        #expect(Self.changes(out).filter { $0.id != "m0" }.isEmpty)
        // The ticks after the freeze (everyone answers from now on; m4 refutes when it hears of
        // its suspicion): nobody becomes dead, nor even suspect.
        let resumed = now
        while now < resumed + .seconds(5) {
            now = max(instance.nextDeadline, now + .milliseconds(1))
            for c in Self.answer(instance.onTick(now: now), &instance, now: now) where c.id != "m0" {
                #expect(c.status == .alive, "\(c.id) became \(c.status) after the freeze")
            }
        }
        #expect(instance.members.allSatisfy { $0.status == .alive })
    }

    @Test("a restarted member jumps above the incarnation the cluster remembers; a dead member comes back alive")
    func restartAndRejoin() {
        // The restarted process starts at incarnation 0; the seed remembers it dead at 7.
        var restarted = SWIMInstance(myself: Self.member(0, incarnation: 0), seeds: [Self.address(1)], now: Self.t(0), randomSeed: 9)
        _ = restarted.onTick(now: Self.t(0))
        let out = restarted.onMessage(
            SWIMMessage(
                senderID: "m1", senderIncarnation: 1, kind: .sync(replyRequested: false),
                updates: [SWIMUpdate(member: Self.member(1)), SWIMUpdate(member: Self.member(0, incarnation: 7, status: .dead))]),
            from: Self.address(1), now: Self.t(5))
        #expect(restarted.myself.incarnation == 8)
        #expect(Self.changes(out).contains { $0.id == "m0" && $0.incarnation == 8 && $0.status == .alive })

        // The others see alive(8) win over dead(7).
        var other = Self.makeInstance(others: 3)
        _ = other.onMessage(
            SWIMMessage(
                senderID: "m2", senderIncarnation: 1, kind: .gossip,
                updates: [SWIMUpdate(member: Self.member(3, incarnation: 7, status: .dead))]), from: Self.address(2), now: Self.t(5))
        #expect(other.member("m3")?.status == .dead)
        // A message from the "dead" member is answered with a correction so it can refute.
        let correction = other.onMessage(
            SWIMMessage(senderID: "m3", senderIncarnation: 7, kind: .ping(sequence: 1, target: "m0")), from: Self.address(3), now: Self.t(6)
        )
        #expect(
            Self.sends(correction).contains {
                $0.1 == Self.address(3) && $0.0.updates.first?.member == Self.member(3, incarnation: 7, status: .dead)
            })
        let back = other.onMessage(
            SWIMMessage(senderID: "m3", senderIncarnation: 8, kind: .gossip, updates: [SWIMUpdate(member: Self.member(3, incarnation: 8))]),
            from: Self.address(3), now: Self.t(7))
        #expect(Self.changes(back).map(\.status) == [.alive])
        // Stale gossip of the death is then ignored.
        let stale = other.onMessage(
            SWIMMessage(
                senderID: "m2", senderIncarnation: 1, kind: .gossip,
                updates: [SWIMUpdate(member: Self.member(3, incarnation: 7, status: .dead))]), from: Self.address(2), now: Self.t(8))
        #expect(Self.changes(stale).isEmpty)
        #expect(other.member("m3")?.status == .alive)
    }

    @Test("leave: announces .left, keeps gossiping it for a bounded time, then stops")
    func leave() {
        var instance = Self.makeInstance(others: 5)
        let out = instance.onLeave(now: Self.t(100))
        #expect(Self.changes(out).map(\.status) == [.left])
        #expect(Self.sends(out).allSatisfy { $0.0.updates.first?.member.status == .left })
        #expect(!Self.sends(out).isEmpty)
        #expect(instance.onLeave(now: Self.t(101)).isEmpty)
        var now = Self.t(100)
        var sent = 0
        while !instance.hasLeft {
            now = instance.nextDeadline
            sent += Self.sends(instance.onTick(now: now)).count
        }
        #expect(now - Self.t(100) == instance.settings.leaveDuration)
        #expect(sent > 0)
        #expect(instance.onTick(now: now + .seconds(1)).isEmpty)
        // Suspicions of a leaving member are not refuted any more.
        #expect(instance.myself.status == .left)
    }

    @Test("a member gossiping an older state of a member that left is told it left")
    func staleNewsIsCorrected() {
        var instance = Self.makeInstance(others: 4)
        _ = instance.onMessage(
            SWIMMessage(senderID: "m3", senderIncarnation: 1, kind: .gossip, updates: [SWIMUpdate(member: Self.member(3, status: .left))]),
            from: Self.address(3), now: Self.t(10))
        #expect(instance.member("m3")?.status == .left)
        // m2 missed the leave and suspects m3.
        let out = instance.onMessage(
            SWIMMessage(
                senderID: "m2", senderIncarnation: 1, kind: .gossip,
                updates: [SWIMUpdate(member: Self.member(3, status: .suspect), suspectedBy: "m2")]),
            from: Self.address(2), now: Self.t(20))
        #expect(instance.member("m3")?.status == .left)
        let told = Self.sends(out).filter { $0.1 == Self.address(2) }
        #expect(told.contains { $0.0.updates.first?.member == Self.member(3, status: .left) })
    }

    @Test("left members are forgotten after the retention time, dead ones after the reconnect timeout")
    func forgetting() {
        for status in [MemberStatus.left, .dead] {
            var settings = SWIMSettings()
            settings.reconnectTimeout = .seconds(300)
            var instance = Self.makeInstance(others: 4, settings: settings)
            _ = instance.onMessage(
                SWIMMessage(
                    senderID: "m2", senderIncarnation: 1, kind: .gossip, updates: [SWIMUpdate(member: Self.member(3, status: status))]),
                from: Self.address(2), now: Self.t(10))
            let keep = status == .left ? settings.deadMemberRetention : settings.reconnectTimeout
            var now = Self.t(10)
            while now < Self.t(10) + keep - .seconds(1) {
                now = max(instance.nextDeadline, now)
                _ = instance.onTick(now: now)
            }
            #expect(instance.member("m3")?.status == status)
            while now < Self.t(10) + keep + .seconds(1) {
                now = max(instance.nextDeadline, now)
                _ = instance.onTick(now: now)
            }
            #expect(instance.member("m3") == nil, "\(status)")
        }
    }

    @Test("a dead member is sent our record with a sync request every reprobe interval, in turn")
    func deadMembersAreReprobed() {
        var instance = Self.makeInstance(others: 4)
        for i in [2, 3] {
            _ = instance.onMessage(
                SWIMMessage(
                    senderID: "m1", senderIncarnation: 1, kind: .gossip, updates: [SWIMUpdate(member: Self.member(i, status: .dead))]),
                from: Self.address(1), now: Self.t(10))
        }
        var now = Self.t(10)
        var reprobed: [GossipAddress] = []
        while now < Self.t(10) + .seconds(4) {
            now = max(instance.nextDeadline, now)
            for (message, to) in Self.sends(instance.onTick(now: now)) {
                // Nothing else goes to a dead member: every sync request to m2 or m3 is a re-probe.
                if case .sync(true) = message.kind, message.updates.first?.member.id == "m0",
                    to == Self.address(2) || to == Self.address(3)
                {
                    reprobed.append(to)
                }
            }
        }
        #expect(reprobed.count >= 3 && reprobed.count <= 5, "\(reprobed)")
        #expect(Set(reprobed) == [Self.address(2), Self.address(3)])
    }
}
