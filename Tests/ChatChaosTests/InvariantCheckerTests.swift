import Testing

@testable import ChatChaos

@Suite struct InvariantCheckerTests {
    let checker = InvariantChecker(failoverBound: 5, presenceBound: 5)

    func check(_ builder: ObservationBuilder) -> CheckResult {
        checker.check(builder.observations)
    }

    @Test func cleanLogPasses() {
        let result = check(.clean())
        #expect(result.passed)
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

    @Test func ackedMessageNeverDeliveredToAJoinedClientIsMissed() {
        var builder = ObservationBuilder.clean()
        builder.editStream(client: 1) { $0.removeLast() }
        let result = check(builder)
        #expect(result.tally[.missedDelivery] == 1)
        #expect(result.tally[.unfilledGap] == 0)
    }

    @Test func aClientThatNeverRejoinedIsReportedNotCheckedForDeliveries() {
        var builder = ObservationBuilder.clean()
        builder.clients[1].joinedAtEnd = false
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

    @Test func holeBelowTheHighestSeqIsAnUnfilledGapUnlessFilled() {
        var builder = ObservationBuilder.clean()
        builder.editStream(client: 0) { $0.remove(at: 2) }
        #expect(check(builder).tally[.unfilledGap] == 1)
        var filled = ObservationBuilder.clean()
        filled.editStream(client: 0) { deliveries in
            var fill = deliveries.remove(at: 2)
            fill.kind = .fill
            deliveries.append(fill)
        }
        #expect(check(filled).passed)
    }

    @Test func twoMessagesUnderOneSeqIsASeqConflict() {
        var builder = ObservationBuilder.clean()
        // A second owner gave seq 8 to another message, seen by bob only.
        builder.editStream(client: 1) { $0[7] = Delivery(seq: 8, id: "carol-1", user: "carol", kind: .live, at: 8) }
        let result = check(builder)
        #expect(result.tally[.seqConflict] == 1)
        #expect(result.tally[.missedDelivery] == 1)
    }

    @Test func retriedSendAckedUnderASecondSeqIsIDUnderTwoSeqs() {
        var builder = ObservationBuilder.clean()
        builder.clients[0].sends[0].acks.append(AckObservation(seq: 9, at: 9, attemptAt: 8.5))
        let result = check(builder)
        #expect(result.tally[.idUnderTwoSeqs] == 1)
    }

    @Test func historyHoldingOneMessageTwiceIsIDUnderTwoSeqs() {
        var builder = ObservationBuilder.clean()
        builder.history["r"]!.append(HistoryEntry(seq: 9, id: "alice-1", user: "alice"))
        #expect(check(builder).tally[.idUnderTwoSeqs] == 1)
    }

    @Test func unreadableHistoryIsReported() {
        var observations = ObservationBuilder.clean().observations
        observations.history = [:]
        observations.historyUnavailable = ["r"]
        let result = checker.check(observations)
        #expect(result.tally[.historyUnreadable] == 1)
        #expect(result.tally[.lostAcked] == 0)
    }

    func outcome(_ kind: FaultKind, at start: Double, presence: Double?, recovered: Double?) -> FaultOutcome {
        FaultOutcome(
            fault: PlannedFault(index: 0, kind: kind, node: 1, at: start, recoverAfter: 1), startedAt: start,
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
