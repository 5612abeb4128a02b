/// One planned fault.
struct PlannedFault: Sendable, Hashable, Codable {
    var index: Int
    var kind: FaultKind
    /// Index of the node in the cluster (0-based; node ids are `n1`...).
    var node: Int
    /// Seconds after traffic starts at which the fault is due. The runner never starts a fault
    /// before the previous one has recovered, so a fault may start later than planned, never earlier.
    var at: Double
    /// kill/term: seconds between the process's exit and its restart; the others: seconds the
    /// fault lasts.
    var recoverAfter: Double
}

/// The faults of one run: a pure function of the seed and the parameters, so the same seed replays
/// the same schedule (same kinds, order, nodes, times and delays).
///
/// Rules: `faultsPerKind` faults of each selected kind, in a seeded shuffled order; one fault every
/// `duration / (kinds * faultsPerKind)` seconds (jittered by ±20 %, first one after half an
/// interval); one node at a time (a second failure while a room's group is down to a bare
/// majority could legitimately stop it). Kill restarts after 0.5–2 s, term after 0–0.5 s, pause
/// lasts 3–5 s (failure detection takes about 1–2 s, so a pause is seen as a death), network
/// faults last 5–8 s (`FaultKind.recoverRange`). Kinds are taken in `FaultKind.allCases` order
/// whatever order they were given in, so the default process kinds draw exactly what the
/// schedule drew before network faults existed (old seeds replay).
struct FaultSchedule: Sendable, Hashable, Codable {
    var seed: UInt64
    var nodes: Int
    var faults: [PlannedFault]

    static let killRestartDelay = FaultKind.kill.recoverRange
    static let termRestartDelay = FaultKind.term.recoverRange
    static let pauseLength = FaultKind.pause.recoverRange

    init(seed: UInt64, nodes: Int, duration: Double, faultsPerKind: Int, kinds selected: [FaultKind] = FaultKind.processKinds) {
        self.seed = seed
        self.nodes = nodes
        guard nodes > 0, faultsPerKind > 0, !selected.isEmpty else {
            faults = []
            return
        }
        var rng = SplitMix64(seed: seed)
        var kinds = FaultKind.allCases.filter(selected.contains).flatMap { Array(repeating: $0, count: faultsPerKind) }
        // Fisher-Yates with the seeded generator.
        for i in stride(from: kinds.count - 1, to: 0, by: -1) {
            kinds.swapAt(i, rng.below(i + 1))
        }
        let interval = duration / Double(kinds.count)
        var planned: [PlannedFault] = []
        var previousNode = -1
        for (index, kind) in kinds.enumerated() {
            var node = rng.below(nodes)
            // Prefer a different node than last time, so restarts of many nodes are exercised.
            if node == previousNode, nodes > 1 { node = (node + 1 + rng.below(nodes - 1)) % nodes }
            previousNode = node
            let jitter = rng.uniform(-0.2...0.2) * interval
            let at = max(0.5, Double(index) * interval + interval * 0.5 + jitter)
            let recoverAfter = rng.uniform(kind.recoverRange)
            planned.append(PlannedFault(index: index, kind: kind, node: node, at: at, recoverAfter: rounded(recoverAfter)))
        }
        faults = planned.map { fault in
            var fault = fault
            fault.at = rounded(fault.at)
            return fault
        }
    }

    /// How many faults of each kind the schedule holds.
    var countsByKind: [FaultKind: Int] {
        faults.reduce(into: [:]) { $0[$1.kind, default: 0] += 1 }
    }
}

/// Millisecond resolution, so a printed schedule reads back exactly.
private func rounded(_ value: Double) -> Double {
    (value * 1000).rounded() / 1000
}

extension PlannedFault {
    /// One line of `--print-schedule`.
    var line: String {
        "#\(index) at \(at) s: \(kind.rawValue) n\(node + 1), recover after \(recoverAfter) s"
    }
}
