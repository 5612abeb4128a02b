// ring-bench: balance, movement, lookup cost, allocations and construction time of `HashRing`.
//
//   swift run -c release --scratch-path .build-ring-release ring-bench
//
// Prints a human-readable report and, last, one line of JSON with the same figures.
import BenchmarkSupport

if let resultPath = AllocationProbe.childResultPath(CommandLine.arguments) {
    AllocationProbe.runChild(phases: RingAllocations.phases(), resultPath: resultPath)
}
Report.run()
