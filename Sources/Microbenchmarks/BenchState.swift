/// The fixtures of one process, each built on first use and shared by the benchmarks that need
/// it (the ring's million keys, the formed SWIM cluster), and kept so the report can read their
/// counters after the runs.
final class BenchState {
    lazy var ring = RingLookups()
    lazy var clientProtocol = ClientProtocolBench()
    lazy var chatClient = ChatClientBench()
    lazy var sequencer = SequencerBench()
    lazy var cluster = SWIMPeriodDriver.formCluster()
    lazy var swimCodec = SWIMPeriodDriver(path: .codec, cluster: cluster)
    lazy var swimEndpoint = SWIMPeriodDriver(path: .endpoint, cluster: cluster)
    lazy var internalFrames = InternalFrameBench()
}
