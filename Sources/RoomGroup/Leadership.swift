/// A leader's state: its epoch, what each replica holds, and the requests waiting for a commit.
struct Leadership: Sendable {
    /// What the leader knows of one replica (voter or learner).
    struct Progress: Sendable {
        /// The next index to send.
        var next: Int
        /// The replica holds the leader's log through here (0: unknown).
        var match = 0
        /// Since when appends have been in flight without an answer (reset by each answer); nil
        /// when none is. `next` moves past what is in flight (pipelining), and while
        /// `GroupSettings.maxInflight` appends are, new entries queue and go together (batching).
        var inflightSince: UInt64?
        var inflight = 0
        var ackedRound: UInt64 = 0
        /// The commit index the replica was last told.
        var sentCommit = 0
    }

    struct PendingSend: Sendable {
        var request: UInt64
        var index: Int
        /// The seq of the message at `index` (a leader never rewrites its own log).
        var seq: UInt64
        var deadline: UInt64
        var duplicate: Bool
    }

    struct PendingRead: Sendable {
        var request: UInt64
        var round: UInt64
        var deadline: UInt64
    }

    var epoch: Epoch
    /// The no-op this leader appended; until it commits, nothing of earlier epochs is known to be
    /// committed, so reads wait and configuration changes are not proposed.
    var noopIndex: Int
    var progress: [ReplicaID: Progress] = [:]
    var pending: [PendingSend] = []
    var reads: [PendingRead] = []
    var round: UInt64 = 0

    func nextDeadline(retransmit: UInt64) -> UInt64? {
        var next: UInt64?
        func consider(_ time: UInt64) { next = min(next ?? time, time) }
        for request in pending { consider(request.deadline) }
        for read in reads { consider(read.deadline) }
        for replica in progress.values { if let since = replica.inflightSince { consider(since + retransmit) } }
        return next
    }
}
