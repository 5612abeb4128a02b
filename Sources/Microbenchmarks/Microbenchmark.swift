/// One microbenchmark: what it measures, how many operations one timed run (and one traced run,
/// for the allocation count) performs, and how to build it.
///
/// `make` builds the fixtures (once per process: the parent times them, the allocation child
/// traces its own) and returns the loop: it performs the given number of operations and returns
/// a checksum that depends on every operation's result (sunk by the harness, so the optimizer
/// cannot drop the work). State that must evolve, such as a room's seq or a SWIM cluster's clock,
/// carries over from one run to the next, so every run measures the steady state.
struct Microbenchmark {
    /// JSON key and allocation phase name.
    let key: String
    /// Row label of the table.
    let title: String
    /// Operations per timed run (sized for roughly 20-100 ms per run).
    let operations: Int
    /// Operations of the traced run in the allocation child (smaller: tracing logs every call).
    let tracedOperations: Int
    let make: () -> (Int) -> Int
}
