// ring-bench: balance, movement, lookup cost, allocations and construction time of `HashRing`.
//
//   swift run -c release --scratch-path .build-ring-release ring-bench
//
// Prints a human-readable report and, last, one line of JSON with the same figures.

let arguments = CommandLine.arguments
if arguments.count == 3 && arguments[1] == AllocationProbe.childFlag {
    AllocationProbe.runChild(resultPath: arguments[2])
}
Report.run()
