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
            switch fault.kind {
            case .kill: #expect(FaultSchedule.killRestartDelay.contains(fault.recoverAfter))
            case .term: #expect(FaultSchedule.termRestartDelay.contains(fault.recoverAfter))
            case .pause: #expect(FaultSchedule.pauseLength.contains(fault.recoverAfter))
            }
        }
        for (previous, next) in zip(schedule.faults, schedule.faults.dropFirst()) {
            #expect(previous.node != next.node)
        }
    }

    @Test func noFaultsWithoutNodesOrFaultsPerKind() {
        #expect(FaultSchedule(seed: 1, nodes: 3, duration: 10, faultsPerKind: 0).faults.isEmpty)
        #expect(FaultSchedule(seed: 1, nodes: 0, duration: 10, faultsPerKind: 2).faults.isEmpty)
    }
}
