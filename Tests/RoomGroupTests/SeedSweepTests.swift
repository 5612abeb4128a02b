import Testing

@testable import RoomGroup

/// Many seeds of the full chaos run (partitions of every kind, loss, duplication, reordering,
/// pauses, crashes with amnesia, roster joins, leaves and removals, lost history-store writes,
/// and operator recovery of groups that lost their majority), checked after every step. The
/// simulation is deterministic: a seed that fails here fails the same way in
/// `group-sim --seed S`.
@Suite("Room groups under random faults", .timeLimit(.minutes(5)))
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

    @Test("no safety violation in 1,000 seeds, and progress after every heal", arguments: 0..<4)
    func sweep(slice: Int) async {
        let start = UInt64(slice * 250 + 1)
        let (safety, progress) = await Self.sweep(start..<(start + 250))
        #expect(safety.isEmpty, "\(safety.prefix(5))")
        #expect(progress.isEmpty, "\(progress.prefix(5))")
    }
}
