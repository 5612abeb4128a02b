/// A candidate's state while it gathers promises.
struct Campaign: Sendable {
    var epoch: Epoch
    /// The candidate's commit index when it asked: promises carry the log after it.
    var from: Int
    var promises: [ReplicaID: Promise] = [:]
    /// Without a majority by then, the candidate gives up (`GroupSettings.campaignTimeout`).
    var deadline: UInt64
}
