import ChatCore

/// The room owner's per-message work in `RoomStateMachine`: `send(user:id:text:now:)` (dedup
/// lookup, seq and ts, append to the log, remember the id), then `commit(through:)` of that
/// message (what the owner calls once the successor holds it), which returns its persist, deliver
/// and ack actions.
///
/// Realistic steady state: `logCapacity` 1000 and `idempotencyWindow` 4096 (the defaults), both
/// full before anything is measured (5,000 messages first), so every op also evicts the oldest
/// log entry and the oldest remembered id. Ids are 36-character strings taken in turn from
/// 200,000 distinct ones: an id comes back only long after it left the idempotency window, so
/// every send is a new message (a send that is not sequenced is counted in `notSequenced`, and
/// must stay 0). Eight users take turns; the text is 64 bytes; the clock rises 1 ms per message.
final class SequencerBench {
    static let idCount = 200_000

    var machine = RoomStateMachine(
        room: Fixtures.room, configuration: .init(logCapacity: 1000, idempotencyWindow: 4096))
    let ids: [String] = (0..<idCount).map(Fixtures.messageID)
    let text = Fixtures.text64
    let users = Fixtures.users
    var cursor = 0
    var now: Int64 = 1_760_000_000_000
    private(set) var notSequenced = 0

    init() {
        _ = step(5_000)
    }

    /// One op = one `send` and the `commit(through:)` of the message it sequenced.
    @inline(never)
    func step(_ count: Int) -> Int {
        var sum = 0
        for _ in 0..<count {
            let id = ids[cursor]
            cursor = cursor == ids.count - 1 ? 0 : cursor + 1
            now += 1
            let sent = machine.send(user: users[cursor & 7], id: id, text: text, now: now)
            guard case .replicate(let message) = sent.first else {
                notSequenced += 1
                continue
            }
            let committed = machine.commit(through: message.seq)
            sum &+= committed.count &+ Int(truncatingIfNeeded: message.seq)
        }
        return sum
    }
}
