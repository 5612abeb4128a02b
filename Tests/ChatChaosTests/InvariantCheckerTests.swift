import Testing

@testable import ChatChaos

@Suite struct InvariantCheckerTests {
    let checker = InvariantChecker(failoverBound: 5, presenceBound: 5)

    func check(_ builder: ObservationBuilder) -> CheckResult {
        checker.check(builder.observations)
    }

    @Test func cleanLogPasses() {
        let result = check(.clean())
        #expect(result.passed, "\(result.tally.violations.map(\.line))")
        #expect(result.tally.total == 0)
        #expect(result.counters.sent == 8 && result.counters.acked == 8 && result.counters.delivered == 16)
        #expect(result.counters.inHistory == 8)
    }

    @Test func ackedMessageMissingFromHistoryIsLost() {
        var builder = ObservationBuilder.clean()
        builder.history["r"]!.removeAll { $0.seq == 3 }
        let result = check(builder)
        #expect(result.tally[.lostAcked] == 1)
        #expect(!result.passed)
    }

    @Test func messagesBeyondTheHistoryLimitAreNotLost() {
        var builder = ObservationBuilder.clean(count: 2)
        builder.history["r"]!.removeFirst()
        var observations = builder.observations
        observations.historyLimit = 2
        #expect(checker.check(observations).tally[.lostAcked] == 0)
    }

    @Test func ackedMessageNeverDeliveredToAJoinedClientIsMissedAndALiveGap() {
        var builder = ObservationBuilder.clean()
        builder.editStream(client: 1) { $0.removeLast() }
        let result = check(builder)
        #expect(result.tally[.missedDelivery] == 1)
        #expect(result.tally[.unfilledGap] == 0)
        // Seq 8 was acked at 7.1 s, the connection stayed open until 13 s.
        #expect(result.tally[.gapOnLiveConnection] == 1)
    }

    @Test func aClientThatNeverRejoinedIsReportedNotCheckedForDeliveries() {
        var builder = ObservationBuilder.clean()
        builder.clients[1].joinedAtEnd = false
        builder.clients[1].spans[0].closedAt = 5
        builder.editStream(client: 1) { $0.removeLast(3) }
        let result = check(builder)
        #expect(result.tally[.clientNotRejoined] == 1)
        #expect(result.tally[.missedDelivery] == 0)
    }

    @Test func sameMessageDeliveredTwiceIsADuplicate() {
        var builder = ObservationBuilder.clean()
        builder.editStream(client: 0) { $0.append($0[5]) }
        let result = check(builder)
        #expect(result.tally[.duplicate] == 1)
        #expect(result.tally[.orderViolation] == 0)
    }

    @Test func gapFillOverlapIsNotADuplicate() {
        var builder = ObservationBuilder.clean()
        builder.editStream(client: 0) { deliveries in
            var fill = deliveries[2]
            fill.kind = .fill
            deliveries.append(fill)
        }
        #expect(check(builder).passed)
    }

    @Test func seqGoingBackwardsIsAnOrderViolation() {
        var builder = ObservationBuilder.clean()
        builder.editStream(client: 0) { $0.swapAt(3, 4) }
        let result = check(builder)
        #expect(result.tally[.orderViolation] == 1)
        #expect(result.tally[.duplicate] == 0)
    }

    @Test func skippedMessageOnALiveConnectionIsAGap() {
        var builder = ObservationBuilder.clean()
        builder.editStream(client: 0) { $0.remove(at: 2) }
        let result = check(builder)
        #expect(result.tally[.gapOnLiveConnection] == 1)
        #expect(result.tally[.unfilledGap] == 1)
        let line = result.tally.violations.first { $0.kind == .gapOnLiveConnection }?.line ?? ""
        #expect(line.contains("alice in r on n1 (connection #1): seqs 3–3 (1) never arrived live"))
        #expect(line.contains("next live frame seq 4 at 3.05 s"))
        #expect(line.contains("before any fault"))
    }

    @Test func gapFilledWithHistoryIsStillAGapButNotUnfilled() {
        var filled = ObservationBuilder.clean()
        filled.editStream(client: 0) { deliveries in
            var fill = deliveries.remove(at: 2)
            fill.kind = .fill
            deliveries.append(fill)
        }
        let result = check(filled)
        #expect(result.tally[.gapOnLiveConnection] == 1)
        #expect(result.tally[.unfilledGap] == 0)
        #expect(result.tally.total == 1)
        #expect(result.tally.violations[0].detail.hasSuffix("later filled by history"))
    }

    @Test func liveGapsArePureRunsOfSeqsThatWereDue() {
        let acked = Dictionary(
            uniqueKeysWithValues: (3...11).map { seq in
                (
                    UInt64(seq),
                    InvariantChecker.AckedMessage(
                        key: .init(room: "r", user: "u", id: "\(seq)"), seq: UInt64(seq), ackedAt: Double(seq), via: "n1")
                )
            })
        let live = [3, 5, 9].map { Delivery(seq: UInt64($0), id: "\($0)", user: "u", kind: .live, at: Double($0)) }
        // Window ends at 13: seqs acked by 10 are due (grace 3), 11 is not.
        let gaps = checker.liveGaps(base: 2, live: live, acked: acked, windowEnd: 13)
        #expect(gaps.map(\.seqs) == [4...4, 6...8, 10...10])
        // Nothing due after the window closed early; seqs below a live frame always are.
        #expect(checker.liveGaps(base: 2, live: live, acked: acked, windowEnd: 5).map(\.seqs) == [4...4, 6...8])
        #expect(checker.liveGaps(base: 9, live: live, acked: acked, windowEnd: 5).isEmpty)
    }

    @Test func messageAckedJustBeforeTheConnectionEndedIsTheResumeRules() {
        var builder = ObservationBuilder.clean()
        // Seq 7 is acked at 6.1 s, after the connection closed at 6 s; it comes with the resume.
        builder.reconnect(client: 1, closedAt: 6, rejoinAt: 7, joinedSeq: 7, history: [7])
        let result = check(builder)
        #expect(result.passed, "\(result.tally.violations.map(\.line))")
    }

    @Test func connectionDroppedForSilenceEndsItsLiveWindowWhenTheNodeWasLastHeard() {
        var builder = ObservationBuilder.clean()
        builder.editStream(client: 1) { $0.removeAll { (4...7).contains($0.seq) } }
        builder.reconnect(client: 1, closedAt: 6.5, rejoinAt: 7, joinedSeq: 7, history: [4, 5, 6, 7])
        // Seq 4 was acked at 3.1 s: due by 6.1 s, before the close at 6.5 s.
        #expect(check(builder).tally[.gapOnLiveConnection] == 1)
        builder.clients[1].spans[0].silentSince = 3
        #expect(check(builder).passed)
    }

    @Test func resumeThatSkipsOneIsAResumeGap() {
        var builder = ObservationBuilder.clean()
        builder.reconnect(client: 1, closedAt: 6, rejoinAt: 7, joinedSeq: 7, history: [])
        let result = check(builder)
        #expect(result.tally[.resumeGap] == 1)
        #expect(result.tally.violations.first { $0.kind == .resumeGap }?.detail.contains("history misses 1: 7") == true)
        #expect(result.tally[.gapOnLiveConnection] == 0)
    }

    @Test func resumeRepeatingASeqIsAResumeGapNotALiveDuplicate() {
        var builder = ObservationBuilder.clean()
        builder.reconnect(client: 1, closedAt: 6, rejoinAt: 7, joinedSeq: 7, history: [6, 7])
        let result = check(builder)
        #expect(result.tally[.resumeGap] == 1)
        #expect(result.tally[.duplicate] == 0)
        var twice = ObservationBuilder.clean()
        twice.reconnect(client: 1, closedAt: 6, rejoinAt: 7, joinedSeq: 7, history: [7, 7])
        #expect(check(twice).tally[.resumeGap] == 1)
    }

    @Test func truncatedResumeWithinTheCapIsAResumeGap() {
        var builder = ObservationBuilder.clean()
        builder.reconnect(client: 1, closedAt: 6, rejoinAt: 7, joinedSeq: 7, history: [7], truncated: true)
        let result = check(builder)
        #expect(result.tally[.resumeGap] == 1)
        #expect(result.tally.violations.first { $0.kind == .resumeGap }?.detail.contains("truncated although only 1") == true)
    }

    @Test func truncatedResumeBeyondTheCapIsFineWhenContiguousUpToJoinedSeq() {
        var builder = ObservationBuilder.clean()
        builder.historyLimit = 2
        builder.reconnect(client: 1, closedAt: 3, rejoinAt: 7, joinedSeq: 7, history: [5, 6, 7], truncated: true)
        #expect(check(builder).tally[.resumeGap] == 0)
        #expect(checker.resumeProblems(since: 3, joinedSeq: 7, truncated: true, history: [5, 7], limit: 2).count == 1)
        #expect(checker.resumeProblems(since: 3, joinedSeq: 7, truncated: false, history: [4, 5, 6, 7], limit: 2).isEmpty)
        #expect(checker.resumeProblems(since: 8, joinedSeq: 7, truncated: false, history: [], limit: 2).count == 1)
    }

    @Test func twoMessagesUnderOneSeqIsASeqConflict() {
        var builder = ObservationBuilder.clean()
        // A second owner gave seq 8 to another message, seen by bob only.
        builder.editStream(client: 1) { $0[7] = Delivery(seq: 8, id: "carol-1", user: "carol", kind: .live, at: 8) }
        let result = check(builder)
        #expect(result.tally[.seqConflict] == 1)
        #expect(result.tally[.missedDelivery] == 1)
        #expect(result.tally.violations.first { $0.kind == .seqConflict }?.detail.contains("r seq 8 given to") == true)
    }

    @Test func idAckedWithTwoSeqsIsIDTwoSeqs() {
        var builder = ObservationBuilder.clean()
        builder.clients[0].sends[0].acks.append(AckObservation(seq: 9, at: 9, attemptAt: 8.5))
        let result = check(builder)
        #expect(result.tally[.idTwoSeqs] == 1)
        #expect(result.tally[.messageTwoSeqs] == 0)
        #expect(result.tally.violations.first { $0.kind == .idTwoSeqs }?.detail.contains("seq 9 at 9.0 s via n1") == true)
    }

    @Test func historyHoldingOneMessageTwiceIsMessageTwoSeqs() {
        var builder = ObservationBuilder.clean()
        builder.history["r"]!.append(HistoryEntry(seq: 9, id: "alice-1", user: "alice"))
        let result = check(builder)
        #expect(result.tally[.messageTwoSeqs] == 1)
        #expect(result.tally[.idTwoSeqs] == 0)
    }

    @Test func sendUnackedBeyondTheFailoverBoundIsUnansweredUnlessItsNodeWasFaulted() {
        var slow = ObservationBuilder.clean()
        // alice-4 (first attempt at 6 s) acked at 12 s: 6 s > the bound of 5 s.
        slow.clients[0].sends[3].acks[0].at = 12
        #expect(check(slow).tally[.unansweredSend] == 1)
        // alice's node n1 was killed from 6.5 s until ready again at 11 s: 4.5 s do not count.
        slow.faults = [outcome(.kill, at: 6.5, presence: 1, recovered: 11, node: 0)]
        #expect(check(slow).passed)
        var never = ObservationBuilder.clean()
        never.clients[0].sends[3].acks = []
        let result = check(never)
        #expect(result.tally[.unansweredSend] == 1)
        #expect(result.tally.violations[0].detail.contains("never acked"))
    }

    @Test func violationsNameTheFaultBeforeThemAndAreCountedByItsKind() {
        var builder = ObservationBuilder.clean()
        builder.editStream(client: 0) { $0.remove(at: 2) }
        builder.faults = [outcome(.partition, at: 1, presence: nil, recovered: 7, node: 2)]
        let result = check(builder)
        let gap = result.tally.violations.first { $0.kind == .gapOnLiveConnection }
        #expect(gap?.after?.kind == .partition)
        #expect(gap?.line.contains("after fault #0 partition n3 at 1.0 s") == true)
        #expect(result.tally.byFaultKind["partition"]?["gaps_on_live_connections"] == 1)
        #expect(result.tally.byFaultKind["none"] == nil)
    }

    @Test func unreadableHistoryIsReported() {
        var observations = ObservationBuilder.clean().observations
        observations.history = [:]
        observations.historyUnavailable = ["r"]
        let result = checker.check(observations)
        #expect(result.tally[.historyUnreadable] == 1)
        #expect(result.tally[.lostAcked] == 0)
    }

    func outcome(_ kind: FaultKind, at start: Double, presence: Double?, recovered: Double?, node: Int = 1) -> FaultOutcome {
        FaultOutcome(
            fault: PlannedFault(index: 0, kind: kind, node: node, at: start, recoverAfter: 1), startedAt: start,
            recoveredAt: recovered, presenceCleanedAfter: presence, note: "")
    }

    @Test func failoverTimeIsTheFirstAckOfASendAttemptedAfterTheFault() {
        var builder = ObservationBuilder.clean()
        builder.faults = [outcome(.kill, at: 2.5, presence: 1, recovered: 4)]
        let result = check(builder)
        // Sends are attempted at 0, 1, 2, ...; the first attempted after 2.5 is at 3, acked at 3.1.
        let timing = result.faults[0]
        #expect(abs((timing.acceptAfter ?? -1) - 0.6) < 1e-9)
        #expect(timing.recoveredAfter == 1.5)
        #expect(result.passed)
    }

    @Test func roomNeverAcceptingAgainOrTooSlowIsSlowFailover() {
        var never = ObservationBuilder.clean()
        never.faults = [outcome(.kill, at: 7.5, presence: 1, recovered: 8)]
        #expect(check(never).tally[.slowFailover] == 1)
        var slow = ObservationBuilder.clean()
        // Both sends attempted after 5.5 (at 6 and 7) are acked only at 20.
        slow.clients[0].sends[3].acks[0].at = 20
        slow.clients[1].sends[3].acks[0].at = 20
        slow.faults = [outcome(.term, at: 5.5, presence: 1, recovered: 7)]
        #expect(check(slow).tally[.slowFailover] == 1)
    }

    @Test func presenceMustBeCleanedAfterKillAndTermButNotPause() {
        var builder = ObservationBuilder.clean()
        builder.faults = [
            outcome(.kill, at: 0.5, presence: nil, recovered: 1), outcome(.term, at: 0.5, presence: 9, recovered: 1),
            outcome(.pause, at: 0.5, presence: nil, recovered: 1),
        ]
        #expect(check(builder).tally[.presenceNotCleaned] == 2)
    }

    @Test func nodeThatNeverCameBackIsReported() {
        var builder = ObservationBuilder.clean()
        builder.faults = [outcome(.pause, at: 0.5, presence: nil, recovered: nil)]
        #expect(check(builder).tally[.nodeNotRecovered] == 1)
    }

    @Test func durationSummary() {
        let summary = DurationSummary([3, nil, 1, 2])
        #expect(summary.median == 2 && summary.worst == 3 && summary.missing == 1 && summary.count == 3)
        #expect(DurationSummary([4, 2]).median == 3)
        #expect(DurationSummary([]).median == nil)
    }
}
