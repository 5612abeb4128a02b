/// A candidate's state while it gathers promises.
struct Campaign: Sendable {
    var epoch: Epoch
    /// The candidate's commit index when it asked: promises carry the log after it.
    var from: Int
    var promises: [ReplicaID: Promise] = [:]
    /// The nodes asked for a promise. A promise can reveal a configuration this candidate has not
    /// seen (a voter added in an entry it lacks); its new voters are asked then.
    var asked: Set<String> = []
    /// Without a majority by then, the candidate gives up (`GroupSettings.campaignTimeout`).
    var deadline: UInt64
}
