/// The sink of every benchmark result, so that the optimizer cannot drop the work that produced
/// it: `blackHole` is never inlined and adds its argument to this global, which the program
/// prints at the end (the checksum), so every result is observably used. Loops fold their
/// per-operation results into an `Int` and sink that once per run.
nonisolated(unsafe) public private(set) var sinkValue = 0

/// Keeps a result alive so the optimizer cannot drop the loop that produced it.
@inline(never)
public func blackHole(_ value: Int) { sinkValue &+= value }
