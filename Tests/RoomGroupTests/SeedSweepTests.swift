import Testing

@testable import RoomGroup

/// Many seeds of the full chaos run (partitions of every kind, loss, duplication, reordering,
/// pauses, crashes with amnesia, roster joins, leaves and removals), checked after every step.
@Suite("Room groups under random faults", .timeLimit(.minutes(3)))
struct SeedSweepTests {
    /// Runs seeds `range` with a smaller configuration than `group-sim` (one chaos round).
    static func sweep(_ range: Range<UInt64>) async -> (safety: [String], progress: [String]) {
        var safety: [String] = []
        var progress: [String] = []
        for seed in range {
            var configuration = GroupSimulation.Configuration()
            configuration.seed = seed
            configuration.rounds = 1
            configuration.rooms = 2
            let failure = GroupSimulation(configuration: configuration).runChaos()
            await Task.yield()  // let other tests run on this 2-core machine
            guard let failure else { continue }
            if failure.contains("progress:") { progress.append(failure) } else { safety.append(failure) }
        }
        return (safety, progress)
    }

    @Test("no safety violation in 1,000 seeds; progress after healing in nearly all", arguments: 0..<4)
    func sweep(slice: Int) async {
        let start = UInt64(slice * 250 + 1)
        let (safety, progress) = await Self.sweep(start..<(start + 250))
        #expect(safety.isEmpty, "\(safety.prefix(5))")
        // Known issue, fixed within issue 10 ("Rooms that stay correct under partitions") before
        // the layer is wired in: a few seeds in a thousand still miss the progress bound after
        // overlapping leader changes and reconfigurations. Safety never depends on it; each miss
        // is reported as a known issue, and more than 5 in 250 seeds fails outright.
        #expect(progress.count <= 5, "\(progress.prefix(5))")
        withKnownIssue("issue 10: progress after overlapping leader changes and reconfigurations", isIntermittent: true) {
            #expect(progress.isEmpty, "\(progress.prefix(5))")
        }
    }
}
