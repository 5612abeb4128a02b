import BenchmarkSupport
import Ring

/// The lookup loops whose heap allocations `AllocationProbe` (BenchmarkSupport) counts with
/// glibc's `mtrace`, in a child process.
///
/// Controls: the empty loop must count 0 (tracing adds nothing of its own), and
/// `preferenceList(of:count:)`, whose result array must be allocated, must count at least one per
/// call; if it does not, tracing is not working and nothing is reported as measured.
enum RingAllocations {
    static let controls = AllocationProbe.Controls(
        empty: "empty", mustAllocate: "preferenceList2", mustAllocateLabel: "preferenceList")

    static func phases() -> [AllocationPhase] {
        let ring = HashRing(members: nodes(50))
        return [
            AllocationPhase(name: "empty", operations: lookupCount) { runEmpty() },
            AllocationPhase(name: "ownerOfKey", operations: lookupCount) { runOwnerLookups(ring) },
            AllocationPhase(name: "ownerOfHash", operations: lookupCount) { runHashLookups(ring) },
            AllocationPhase(name: "hash", operations: lookupCount) { runHashOnly() },
            AllocationPhase(name: "preferenceList2", operations: lookupCount / 10) { runPreferenceLists(ring, lookupCount / 10) },
        ]
    }

    /// Runs the child (this executable again) and returns its counts, or nil with the reason.
    static func measure() -> (counts: AllocationProbe.Counts?, reason: String) {
        AllocationProbe.measure(filePrefix: "ring-bench", controls: controls)
    }
}
