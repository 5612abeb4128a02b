/// What the checker asserts about an operator's recovery, the one place where acked messages may
/// be lost by design.
extension GroupChecker {
    /// `group` (just rebuilt, see `RoomGroup+Recovery`) reported that it held the room through
    /// `lostAfter` and skips seqs up to `resumeAfter`. Asserted:
    /// - every committed message through `lostAfter` is in the rebuilt log, with its seq;
    /// - every committed message after it has a seq within the skipped range (so no seq will
    ///   ever name two messages); those are counted as lost.
    /// The committed log is then cut back to what the rebuilt log shares with it, and the
    /// rebuilt log's commits are checked from there as usual.
    mutating func recovered(_ room: String, from group: RoomGroup, lostAfter: UInt64, resumeAfter: UInt64) {
        let old = rooms[room] ?? RoomLog()
        var held: [UInt64: GroupChatMessage] = [:]
        for index in stride(from: group.lastIndex, to: group.compactedIndex, by: -1) {
            if let message = group.entry(at: index)?.message { held[message.seq] = message }
        }
        for committed in old.entries {
            guard let message = committed.entry.message else { continue }
            if message.seq > lostAfter {
                if message.seq > resumeAfter {
                    fail("room \(room): recovery resumes after seq \(resumeAfter), below committed seq \(message.seq)")
                }
                lostInRecovery += 1
            } else if message.seq > group.compactedSeq, held[message.seq] != message {
                fail("room \(room): recovery from \(group.me) lost committed seq \(message.seq) (lostAfter \(lostAfter))")
            }
        }
        var keep = 0
        for (offset, committed) in old.entries.enumerated() {
            let index = offset + 1
            guard index <= group.compactedIndex || group.entry(at: index) == committed.entry else { break }
            keep = index
        }
        var log = RoomLog()
        log.leaders = old.leaders
        for committed in old.entries.prefix(keep) { record(committed.entry, epoch: committed.epoch, room: room, into: &log) }
        rooms[room] = log
        for (replica, index) in checkedCommit[room] ?? [:] { checkedCommit[room]?[replica] = min(index, keep) }
    }
}
