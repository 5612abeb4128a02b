import BenchmarkSupport

/// Runs every benchmark, counts allocations in a child process, and prints the table and one
/// line of JSON.
///
/// Times: each benchmark's loop runs once untimed (warm-up), then `repetitions` times timed; wall
/// (`ContinuousClock`) and CPU (this thread's CPU time) ns/op are each the median over the timed
/// runs. On a shared machine the wall figure also counts time other processes held the core; the
/// CPU figure does not, so it is the one to compare between runs.
enum MicrobenchReport {
    static let repetitions = 7

    struct Row {
        var benchmark: Microbenchmark
        var time: PerOp
    }

    static func run() {
        let state = BenchState()
        print("chat-microbench: release build; median of \(repetitions) timed runs after 1 warm-up run, per operation")
        print("(wall: ContinuousClock; CPU: this thread's CPU time, which excludes time other processes held the core)")
        var rows: [Row] = []
        for benchmark in Catalog.selected(state) {
            let body = benchmark.make()
            let time = timePerOp(operations: benchmark.operations, repetitions: repetitions) { body(benchmark.operations) }
            rows.append(Row(benchmark: benchmark, time: time))
        }
        let (counts, how) = AllocationProbe.measure(filePrefix: "chat-microbench", controls: Catalog.controls)
        printTable(rows, counts: counts)
        print("  allocations counted by: \(how); empty-loop control: \(allocationText(counts?[Catalog.controls.empty]))")
        printNotes(state)
        print("")
        print("(checksum \(sinkValue))")
        print(json(rows, counts: counts, how: how, state: state))
    }

    static func allocationText(_ count: (allocations: Int, operations: Int)?) -> String {
        guard let count else { return "not measured" }
        return "\(fixed(Double(count.allocations) / Double(count.operations), 3)) (\(count.allocations) in \(count.operations))"
    }

    static func printTable(_ rows: [Row], counts: AllocationProbe.Counts?) {
        print("")
        print(padRight("benchmark", 52) + pad("ops/run", 9) + pad("wall ns/op", 12) + pad("CPU ns/op", 11) + "   allocations/op")
        for row in rows {
            let b = row.benchmark
            print(
                padRight(b.title, 52) + pad("\(b.operations)", 9) + pad(fixed(row.time.wallNs, 1), 12) + pad(fixed(row.time.cpuNs, 1), 11)
                    + "   " + allocationText(counts?[b.key]))
        }
    }

    static func printNotes(_ state: BenchState) {
        let sizes = state.internalFrames.sizes
        let sendFrame = state.clientProtocol.sendFrames[0].utf8.count
        print("  inputs: 64-byte text, 36-character id; send frame \(sendFrame) bytes of JSON; internal frames")
        print("          message \(sizes.message) bytes, replicate \(sizes.replicate) bytes (without the 4-byte length prefix)")
        let notSequenced = state.sequencer.notSequenced
        print("  sequencer: logCapacity 1000, idempotencyWindow 4096, both full; sends not sequenced: \(notSequenced) (must be 0)")
        for (name, driver) in [("codec", state.swimCodec), ("endpoint", state.swimEndpoint)] {
            let perNode = fixed(datagramsPerNodePeriod(driver), 3)
            print(
                "  SWIM \(name): \(SWIMPeriodDriver.memberCount) members, \(driver.periods) periods run after settling, \(perNode) datagrams "
                    + "per node per period; member changes \(driver.memberChanges), bad datagrams \(driver.badDatagrams) (must be 0)")
        }
    }

    static func datagramsPerNodePeriod(_ driver: SWIMPeriodDriver) -> Double {
        driver.periods == 0 ? 0 : Double(driver.datagrams) / Double(driver.periods * SWIMPeriodDriver.memberCount)
    }

    static func json(_ rows: [Row], counts: AllocationProbe.Counts?, how: String, state: BenchState) -> String {
        func allocations(_ key: String) -> String {
            guard let c = counts?[key] else { return "null" }
            return fixed(Double(c.allocations) / Double(c.operations), 4)
        }
        let benchmarks = rows.map { row in
            "{\"name\":\"\(row.benchmark.key)\",\"operations\":\(row.benchmark.operations),"
                + "\"wallNs\":\(fixed(row.time.wallNs, 2)),\"cpuNs\":\(fixed(row.time.cpuNs, 2)),"
                + "\"allocationsPerOp\":\(allocations(row.benchmark.key))}"
        }
        var escapedHow = ""
        for character in how {
            if character == "\"" || character == "\\" { escapedHow.append("\\") }
            escapedHow.append(character)
        }
        let sizes = state.internalFrames.sizes
        return "{\"repetitions\":\(repetitions),\"allocationsMeasured\":\(counts != nil),\"allocationMethod\":\"\(escapedHow)\","
            + "\"emptyControlAllocationsPerOp\":\(allocations(Catalog.controls.empty)),"
            + "\"benchmarks\":[\(benchmarks.joined(separator: ","))],"
            + "\"internalMessageFrameBytes\":\(sizes.message),\"internalReplicateFrameBytes\":\(sizes.replicate),"
            + "\"sequencerNotSequenced\":\(state.sequencer.notSequenced),"
            + "\"swimDatagramsPerNodePeriod\":{\"codec\":\(fixed(datagramsPerNodePeriod(state.swimCodec), 3)),"
            + "\"endpoint\":\(fixed(datagramsPerNodePeriod(state.swimEndpoint), 3))},"
            + "\"swimMemberChanges\":\(state.swimCodec.memberChanges + state.swimEndpoint.memberChanges)}"
    }
}
