/// The safety checker of the group simulator: it sees every replica after every step and every
/// reply a client gets, and records the first broken invariant.
///
/// Asserted after every step:
/// - at most one replica leads a room in a given epoch;
/// - no replica ever drops a committed entry (`RoomGroup.safetyBreach`);
/// - every committed index holds the same entry on every replica that committed it (so no seq
///   has two messages, and any two logs agree on their common committed prefix);
/// - committed messages have seqs 1, 2, 3, … with no gap, and no `(user, id)` twice;
/// - every acked or duplicate reply names the committed message of that `(user, id)`, and a
///   client never gets two seqs for one id;
/// - every leader of a later epoch holds every entry committed in an earlier one, at its index
///   (checked when a replica starts leading, and for each later commit against current leaders);
/// - every replica reports each committed message once, in seq order, or within a `gap`;
/// - a read barrier answers at least the seq committed when the read was issued;
/// - every replica's presence, as built from what it reports (`.presence` changes in order, or a
///   `.presenceTable` from a snapshot), changes something with every change it reports, and equals
///   the presence of its log whenever its whole log is committed.
public struct GroupChecker: Sendable {
    struct Committed: Sendable {
        var entry: LogEntry
        /// The lowest epoch known to a replica that saw this entry committed.
        var epoch: Epoch
    }

    struct RoomLog: Sendable {
        var entries: [Committed] = []
        var seqs: [UInt64: Int] = [:]
        /// The seq through each committed index.
        var seqAt: [UInt64] = []
        var ids: [String: UInt64] = [:]
        var lastSeq: UInt64 = 0
        var leaders: [Epoch: ReplicaID] = [:]
    }

    public private(set) var violation: String?
    var rooms: [String: RoomLog] = [:]
    var checkedCommit: [String: [ReplicaID: Int]] = [:]
    var leading: [String: [ReplicaID: Epoch]] = [:]
    var delivered: [String: [ReplicaID: UInt64]] = [:]
    var presence: [String: [ReplicaID: PresenceTable]] = [:]
    /// Committed messages lost in operator recoveries (each within its reported skipped range).
    public internal(set) var lostInRecovery = 0
    public private(set) var acks = 0

    public init() {}

    mutating func fail(_ text: String) {
        if violation == nil { violation = text }
    }

    /// The committed messages of a room, in seq order.
    public func committedMessages(_ room: String) -> [GroupChatMessage] {
        rooms[room]?.entries.compactMap(\.entry.message) ?? []
    }

    public func committedSeq(_ room: String) -> UInt64 { rooms[room]?.lastSeq ?? 0 }

    /// The latest configuration in a room's committed log.
    func committedConfig(_ room: String) -> GroupConfig? {
        rooms[room]?.entries.last(where: { $0.entry.config != nil })?.entry.config
    }

    /// Checks one replica after it handled an event; `leaders` are the room's current leaders.
    mutating func check(_ group: RoomGroup, leaders: [RoomGroup]) {
        let room = group.room
        if let breach = group.safetyBreach { fail("room \(room): \(breach)") }
        var log = rooms[room] ?? RoomLog()
        if let epoch = group.leaderEpoch {
            if let other = log.leaders[epoch], other != group.me {
                fail("room \(room): two leaders in epoch \(epoch): \(other) and \(group.me)")
            }
            if leading[room]?[group.me] != epoch {
                leading[room, default: [:]][group.me] = epoch
                log.leaders[epoch] = group.me
                // A new leader: it must hold everything committed in earlier epochs.
                for (offset, committed) in log.entries.enumerated() where committed.epoch < epoch {
                    let index = offset + 1
                    guard index > group.compactedIndex else { continue }
                    if group.entry(at: index) != committed.entry {
                        fail("room \(room): leader \(group.me) of \(epoch) lacks committed index \(index)")
                        break
                    }
                }
            }
        } else {
            leading[room]?[group.me] = nil
        }
        if group.compactedIndex > 0 {
            // A snapshot (made here or installed) must describe the committed log at its index.
            if group.compactedIndex > log.entries.count {
                fail("room \(room): \(group.me) compacted through \(group.compactedIndex), beyond the committed log")
            } else if log.seqAt[group.compactedIndex - 1] != group.compactedSeq {
                fail("room \(room): \(group.me)'s snapshot at \(group.compactedIndex) says seq \(group.compactedSeq)")
            }
        }
        let from = checkedCommit[room]?[group.me] ?? 0
        if group.committedIndex > from {
            for index in (from + 1)...group.committedIndex {
                guard let entry = group.entry(at: index) else {
                    // Committed here through a snapshot: checked above against the committed log.
                    continue
                }
                if index <= log.entries.count {
                    if log.entries[index - 1].entry != entry {
                        fail("room \(room): index \(index) committed as two entries (\(group.me))")
                    }
                    log.entries[index - 1].epoch = min(log.entries[index - 1].epoch, group.promisedEpoch)
                    continue
                }
                record(entry, epoch: group.promisedEpoch, room: room, into: &log)
                for leader in leaders where leader.me != group.me {
                    if let epoch = leader.leaderEpoch, epoch > group.promisedEpoch,
                        index > leader.compactedIndex, leader.entry(at: index) != entry
                    {
                        fail("room \(room): leader \(leader.me) of \(epoch) lacks index \(index) committed in \(group.promisedEpoch)")
                    }
                }
            }
            checkedCommit[room, default: [:]][group.me] = group.committedIndex
        }
        rooms[room] = log
    }

    mutating func record(_ entry: LogEntry, epoch: Epoch, room: String, into log: inout RoomLog) {
        if log.entries.count + 1 == 1, entry.config == nil {
            fail("room \(room): index 1 is not the genesis configuration")
        }
        log.entries.append(Committed(entry: entry, epoch: epoch))
        if let recovery = entry.recovery {
            if recovery.lostAfter != log.lastSeq || recovery.resumeAfter < recovery.lostAfter {
                fail("room \(room): recovery entry \(recovery) after committed seq \(log.lastSeq)")
            }
            log.lastSeq = recovery.resumeAfter
        }
        log.seqAt.append(entry.message?.seq ?? log.lastSeq)
        guard let message = entry.message else { return }
        if message.seq != log.lastSeq + 1 {
            fail("room \(room): committed seq \(message.seq) after \(log.lastSeq)")
        }
        let key = message.user + "\u{0}" + message.id
        if let seq = log.ids[key] {
            fail("room \(room): id \(message.user)/\(message.id) committed at seqs \(seq) and \(message.seq)")
        }
        log.ids[key] = message.seq
        log.seqs[message.seq] = log.entries.count
        log.lastSeq = message.seq
    }

    /// A replica reported `.commit` or `.gap`: together they must give each of its incarnations
    /// every committed seq once, in order, with the committed content (what the shell delivers to
    /// its clients); a `gap` must start right after what it reported before.
    mutating func checkDelivery(_ action: GroupAction, by replica: ReplicaID, room: String) {
        var through = delivered[room]?[replica] ?? 0
        switch action {
        case .commit(let messages):
            let log = rooms[room] ?? RoomLog()
            for message in messages {
                if message.seq != through + 1 {
                    fail("room \(room): \(replica) reported seq \(message.seq) committed after \(through)")
                }
                if let index = log.seqs[message.seq], log.entries[index - 1].entry.message != message {
                    fail("room \(room): \(replica) reported seq \(message.seq) unlike the committed message")
                }
                through = message.seq
            }
        case .lost(let after, let end):
            if after != through || end < after { fail("room \(room): \(replica) reported lost \(after)...\(end) after \(through)") }
            through = end
        case .presence(let changes):
            var table = presence[room]?[replica] ?? PresenceTable()
            if table.apply(changes).count != changes.count {
                fail("room \(room): \(replica) reported presence changes \(changes) that change nothing in \(table.byNode)")
            }
            presence[room, default: [:]][replica] = table
            return
        case .presenceTable(let table):
            presence[room, default: [:]][replica] = table
            return
        case .gap(let after, let end):
            if after != through || end <= after || end > committedSeq(room) {
                fail("room \(room): \(replica) reported a gap \(after)...\(end) after delivering through \(through)")
            }
            through = end
        default:
            return
        }
        delivered[room, default: [:]][replica] = through
    }

    /// A replica's reported presence equals its log's once its whole log is committed (a
    /// restarted replica starts from nothing: `forget`).
    mutating func checkPresence(_ group: RoomGroup, room: String) {
        guard group.commitIndex == group.lastIndex else { return }
        let reported = presence[room]?[group.me] ?? PresenceTable()
        if reported != group.presence {
            fail("room \(room): \(group.me) reported presence \(reported.byNode), its committed log says \(group.presence.byNode)")
        }
    }

    /// A client got `reply` for its send of `(user, id)`; `earlier` is the seq it got before.
    mutating func checkSendReply(room: String, user: String, id: String, reply: GroupReply, earlier: UInt64?) {
        let seq: UInt64
        switch reply {
        case .acked(let s), .duplicate(let s): seq = s
        default: return
        }
        acks += 1
        let log = rooms[room] ?? RoomLog()
        guard let index = log.seqs[seq], let message = log.entries[index - 1].entry.message else {
            return fail("room \(room): \(user)/\(id) acked at seq \(seq), which is not committed")
        }
        if message.user != user || message.id != id {
            fail("room \(room): \(user)/\(id) acked at seq \(seq), which holds \(message.user)/\(message.id)")
        }
        if let earlier, earlier != seq { fail("room \(room): \(user)/\(id) acked at seqs \(earlier) and \(seq)") }
    }

    /// A read barrier issued when the room was committed through `issuedAt` answered `reply`.
    mutating func checkRead(room: String, issuedAt: UInt64, reply: GroupReply) {
        guard case .readable(let seq) = reply else { return }
        if seq < issuedAt { fail("room \(room): read barrier answered \(seq), below \(issuedAt) committed before it") }
        if seq > committedSeq(room) { fail("room \(room): read barrier answered \(seq), never committed") }
    }
}
