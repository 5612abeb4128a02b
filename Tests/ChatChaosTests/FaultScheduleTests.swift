import Testing

@testable import ChatChaos

@Suite struct FaultScheduleTests {
    @Test func splitMix64MatchesTheReferenceOutput() {
        // Reference values of SplitMix64 for seed 1234567 (from the published C implementation).
        var rng = SplitMix64(seed: 1_234_567)
        #expect(rng.next() == 6_457_827_717_110_365_317)
        #expect(rng.next() == 3_203_168_211_198_807_973)
        #expect(rng.next() == 9_817_491_932_198_370_423)
    }

    @Test func sameSeedSameSchedule() {
        let first = FaultSchedule(seed: 42, nodes: 5, duration: 60, faultsPerKind: 6)
        let second = FaultSchedule(seed: 42, nodes: 5, duration: 60, faultsPerKind: 6)
        #expect(first == second)
        let other = FaultSchedule(seed: 43, nodes: 5, duration: 60, faultsPerKind: 6)
        #expect(first.faults != other.faults)
    }

    @Test func countsSpacingAndBounds() {
        let schedule = FaultSchedule(seed: 7, nodes: 5, duration: 60, faultsPerKind: 6)
        #expect(schedule.faults.count == 18)
        #expect(schedule.countsByKind == [.kill: 6, .term: 6, .pause: 6])
        #expect(schedule.faults.map(\.index) == Array(0..<18))
        let times = schedule.faults.map(\.at)
        #expect(times == times.sorted())
        #expect(times.allSatisfy { $0 > 0 && $0 < 60 })
        for fault in schedule.faults {
            #expect((0..<5).contains(fault.node))
            #expect(fault.kind.recoverRange.contains(fault.recoverAfter))
        }
        for (previous, next) in zip(schedule.faults, schedule.faults.dropFirst()) {
            #expect(previous.node != next.node)
        }
    }

    @Test func networkKindsJoinTheScheduleAndOldSeedsReplay() {
        let process = FaultSchedule(seed: 7, nodes: 3, duration: 60, faultsPerKind: 2)
        #expect(FaultSchedule(seed: 7, nodes: 3, duration: 60, faultsPerKind: 2, kinds: [.pause, .kill, .term]) == process)
        let all = FaultSchedule(seed: 7, nodes: 3, duration: 90, faultsPerKind: 2, kinds: FaultKind.processKinds + FaultKind.networkKinds)
        #expect(all.faults.count == 18)
        #expect(all.countsByKind.values.allSatisfy { $0 == 2 } && all.countsByKind.count == 9)
        for fault in all.faults { #expect(fault.kind.recoverRange.contains(fault.recoverAfter)) }
        #expect(
            all == FaultSchedule(seed: 7, nodes: 3, duration: 90, faultsPerKind: 2, kinds: FaultKind.networkKinds + FaultKind.processKinds))
        let onlyNetwork = FaultSchedule(seed: 7, nodes: 3, duration: 60, faultsPerKind: 1, kinds: [.partition, .vanish])
        #expect(Set(onlyNetwork.faults.map(\.kind)) == [.partition, .vanish])
    }

    @Test func faultKindListsParseWithStopAsPause() throws {
        #expect(try FaultKind.parseList("kill,term,stop", allowed: FaultKind.processKinds) == [.kill, .term, .pause])
        #expect(try FaultKind.parseList("", allowed: FaultKind.processKinds).isEmpty)
        #expect(try FaultKind.parseList("vanish, loss", allowed: FaultKind.networkKinds) == [.vanish, .loss])
        #expect(throws: FaultKindListError.self) { try FaultKind.parseList("kill,partition", allowed: FaultKind.processKinds) }
    }

    @Test func noFaultsWithoutNodesOrFaultsPerKind() {
        #expect(FaultSchedule(seed: 1, nodes: 3, duration: 10, faultsPerKind: 0).faults.isEmpty)
        #expect(FaultSchedule(seed: 1, nodes: 0, duration: 10, faultsPerKind: 2).faults.isEmpty)
    }
}
