import BenchmarkSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Every microbenchmark, in report order, and the allocation probe's phases.
///
/// Operation counts are sized for roughly 20-100 ms per timed run on the 2-core CI machine (the
/// whole program takes about a minute); traced runs are shorter where an op allocates (mtrace
/// writes a line per allocator call, and the child runs under glibc's debugging malloc).
enum Catalog {
    /// The allocation probe's controls: the empty loop must count 0 and `preferenceList(count: 2)`
    /// at least 1 per call (its result array).
    static let controls = AllocationProbe.Controls(
        empty: "emptyControl", mustAllocate: "ringPreferenceList2", mustAllocateLabel: "preferenceList")

    static let emptyControlOperations = RingLookups.keyCount

    /// The benchmarks to run: all of them, or, when the environment variable
    /// `CHAT_MICROBENCH_ONLY` holds a comma-separated list of keys, those (plus the allocation
    /// probe's control, which the probe needs). The allocation child inherits the variable.
    static func selected(_ state: BenchState) -> [Microbenchmark] {
        guard let raw = getenv("CHAT_MICROBENCH_ONLY"), case let only = String(cString: raw), !only.isEmpty else { return all(state) }
        let keys = Set(only.split(separator: ",").map(String.init) + [controls.mustAllocate])
        return all(state).filter { keys.contains($0.key) }
    }

    static func all(_ state: BenchState) -> [Microbenchmark] {
        let nodes = SWIMPeriodDriver.memberCount
        return [
            Microbenchmark(key: "ringOwnerOfKey", title: "ring owner(of:), 50 members", operations: 1_000_000, tracedOperations: 1_000_000)
            {
                let ring = state.ring
                return { ring.owners($0) }
            },
            Microbenchmark(
                key: "ringPreferenceList2", title: "ring preferenceList(of:count: 2)", operations: 100_000, tracedOperations: 100_000
            ) {
                let ring = state.ring
                return { ring.preferenceLists($0) }
            },
            Microbenchmark(key: "clientDecodeSend", title: "ClientFrame.decode, send frame", operations: 2_000, tracedOperations: 500) {
                let bench = state.clientProtocol
                return { bench.decodeSends($0) }
            },
            Microbenchmark(
                key: "serverEncodeMessage", title: "ServerFrame.message -> JSONWriter", operations: 10_000, tracedOperations: 2_000
            ) {
                let bench = state.clientProtocol
                return { bench.encodeMessages($0) }
            },
            Microbenchmark(
                key: "serverEncodeMessageBuffer", title: "ServerFrame.message -> JSONWriter -> ByteBuffer", operations: 10_000,
                tracedOperations: 2_000
            ) {
                let bench = state.clientProtocol
                return { bench.encodeMessagesIntoBuffer($0) }
            },
            Microbenchmark(
                key: "clientDecodeMessage", title: "ChatClient ServerEvent(frame:), message frame", operations: 10_000,
                tracedOperations: 2_000
            ) {
                let bench = state.chatClient
                return { bench.decodeMessages($0) }
            },
            Microbenchmark(
                key: "sequencerSendCommit", title: "RoomStateMachine send + commit(through:)", operations: 20_000, tracedOperations: 5_000
            ) {
                let bench = state.sequencer
                return { bench.step($0) }
            },
            Microbenchmark(
                key: "swimPeriodCodec", title: "SWIM period per node (instance + SWIMCodec)", operations: 200 * nodes,
                tracedOperations: 20 * nodes
            ) {
                let driver = state.swimCodec
                return { driver.runPeriods($0 / nodes) }
            },
            Microbenchmark(
                key: "swimPeriodEndpoint", title: "SWIM period per node (SWIMEndpoint: + HMAC)", operations: 200 * nodes,
                tracedOperations: 20 * nodes
            ) {
                let driver = state.swimEndpoint
                return { driver.runPeriods($0 / nodes) }
            },
        ] + internalFrames(state)
    }

    static func internalFrames(_ state: BenchState) -> [Microbenchmark] {
        [
            Microbenchmark(
                key: "internalMessageEncode", title: "InternalFrame.message encode", operations: 30_000, tracedOperations: 5_000
            ) {
                let bench = state.internalFrames
                return { bench.encode(bench.messageFrame, $0) }
            },
            Microbenchmark(
                key: "internalMessageDecode", title: "InternalFrame.message decode", operations: 100_000, tracedOperations: 5_000
            ) {
                let bench = state.internalFrames
                return { bench.decode(bench.messageBytes, $0) }
            },
            Microbenchmark(
                key: "internalMessageRoundTrip", title: "InternalFrame.message encode + decode", operations: 30_000,
                tracedOperations: 5_000
            ) {
                let bench = state.internalFrames
                return { bench.roundTrip(bench.messageFrame, $0) }
            },
            Microbenchmark(
                key: "internalReplicateEncode", title: "InternalFrame.replicate(.append, 1 msg) encode", operations: 30_000,
                tracedOperations: 5_000
            ) {
                let bench = state.internalFrames
                return { bench.encode(bench.replicateFrame, $0) }
            },
            Microbenchmark(
                key: "internalReplicateDecode", title: "InternalFrame.replicate(.append, 1 msg) decode", operations: 100_000,
                tracedOperations: 5_000
            ) {
                let bench = state.internalFrames
                return { bench.decode(bench.replicateBytes, $0) }
            },
            Microbenchmark(
                key: "internalReplicateRoundTrip", title: "InternalFrame.replicate(.append, 1 msg) enc + dec", operations: 30_000,
                tracedOperations: 5_000
            ) {
                let bench = state.internalFrames
                return { bench.roundTrip(bench.replicateFrame, $0) }
            },
        ]
    }

    /// In the allocation child: the empty control, then every benchmark with its traced count.
    static func allocationPhases() -> [AllocationPhase] {
        let state = BenchState()
        let ring = state.ring
        let operations = emptyControlOperations
        var phases = [AllocationPhase(name: controls.empty, operations: operations) { ring.emptyLoop(operations) }]
        for benchmark in selected(state) {
            let run = benchmark.make()
            let count = benchmark.tracedOperations
            phases.append(AllocationPhase(name: benchmark.key, operations: count) { run(count) })
        }
        return phases
    }
}
