/// Operator recovery of a group that lost a majority of its voters for good (`chat-node rooms
/// recover`). A node's state is in memory, so voters that restarted (a new boot) forgot their
/// promises and logs: the group can never again gather a majority, and it stays `unavailable`
/// rather than guessing. Recovery is the one explicit, audited way out:
///
/// - It is refused while the group still has a majority of voters that may come back (merely
///   dead or paused ones count as coming back): recovering then could lose acked messages.
/// - The operator runs it on the surviving replica with the highest commit index: committed
///   prefixes never disagree, so its committed log holds everything any survivor knows to be
///   committed. Only that committed part is kept. Its uncommitted tail is dropped: the lost
///   majority may have committed other messages at those seqs, so keeping the tail could give
///   one seq two messages.
/// - The history store's messages after that are committed messages (a leader persists only
///   what committed), so they are taken, in seq order, while they follow on without a gap.
/// - One `recovery` entry in a new epoch (its term raised by `recoveryTermGap`, above any epoch
///   a leader of the lost configuration may still hold) then makes this replica the only voter, and commits at
///   once. It leaves `skip` seqs unused after the last seq known anywhere (the log or the store),
///   so a seq that a lost majority acked is never given to another message; the range is
///   reported to the operator and to every replica (`lost`).
/// - The leader then grows the group back to its placement one voter at a time, as always.
extension RoomGroup {
    mutating func recover(request: UInt64, store: [GroupChatMessage], skip: UInt64, now: UInt64, out: inout [GroupAction]) {
        guard lastIndex > 0, latestConfig != nil else {
            return out.append(.reply(request: request, .refused("this replica holds nothing of room \(room)")))
        }
        guard status.quorumLost else {
            return out.append(
                .reply(
                    request: request,
                    .refused("room \(room) still has a majority of its voters (dead or paused ones may come back)")))
        }
        stepDown(out: &out, now: now)
        campaign = nil
        campaignAt = nil
        // A new era: above any term a replica of the lost configuration may be leading in right
        // now without this replica knowing (such a leader can never commit again, but its
        // epoch must not order after the recovery's).
        highestTerm = max(highestTerm, promised.term, lastEpoch.term) + Self.recoveryTermGap
        let epoch = Epoch(term: highestTerm, leader: me)
        promised = epoch
        leaderHint = me
        leaderConfirmed = true
        promisedAt = now
        let known = max(lastSeq, store.map(\.seq).max() ?? 0)
        truncate(from: commitIndex + 1)
        takeStored(store, epoch: epoch)
        let lostAfter = lastSeq
        let recovery = Recovery(config: GroupConfig(voters: [me]), lostAfter: lostAfter, resumeAfter: known + skip)
        appendEntry(LogEntry(epoch: epoch, payload: .recovery(recovery)))
        leadership = Leadership(epoch: epoch, noopIndex: lastIndex)
        advanceLeaderCommit(now: now, out: &out)
        out.append(.reply(request: request, .recovered(lostAfter: lostAfter, resumeAfter: recovery.resumeAfter)))
        replicateToAll(now: now, out: &out)
    }

    /// How far a recovery raises the term (see `recover`).
    static let recoveryTermGap: UInt64 = 1 << 16

    /// Appends the stored messages that follow the log (all committed) without a gap.
    mutating func takeStored(_ store: [GroupChatMessage], epoch: Epoch) {
        for message in store.sorted(by: { $0.seq < $1.seq }) where message.seq > lastSeq {
            guard message.seq == lastSeq + 1 else { break }
            appendEntry(LogEntry(epoch: epoch, payload: .message(message)))
        }
    }
}
