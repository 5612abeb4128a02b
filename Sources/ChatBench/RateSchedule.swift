/// When each send of a fixed-rate run is due.
///
/// The run's sends are one evenly spaced stream at `totalRate` per second, dealt round-robin to
/// the senders: global send `g` is due at `g / totalRate` seconds after the start and belongs to
/// sender `g % senderCount`, as that sender's send number `g / senderCount`. So every sender runs
/// at `totalRate / senderCount` and the senders' phases are staggered instead of bursting together.
struct RateSchedule: Sendable, Hashable {
    var totalRate: Double
    var senderCount: Int

    init(totalRate: Double, senderCount: Int) throws(BenchError) {
        guard totalRate > 0, totalRate.isFinite else { throw BenchError("--rate must be a positive number of sends per second") }
        guard senderCount >= 1 else { throw BenchError("a fixed rate needs at least one sender") }
        self.totalRate = totalRate
        self.senderCount = senderCount
    }

    /// Nanoseconds after the start at which `sender`'s send number `index` is due.
    func dueTime(sender: Int, index: Int) -> UInt64 {
        let global = Double(index) * Double(senderCount) + Double(sender)
        return UInt64((global * 1e9 / totalRate).rounded(.down))
    }

    /// How many of `sender`'s sends are due `elapsed` nanoseconds after the start (due time ≤ elapsed).
    func dueCount(sender: Int, elapsed: UInt64) -> Int {
        // Global sends due: g ≤ elapsed·rate/1e9. Sender k owns g = i·S + k, so i ≤ (gmax − k)/S.
        let globalMax = (Double(elapsed) * totalRate / 1e9).rounded(.down)
        var count = globalMax >= Double(sender) ? Int(((globalMax - Double(sender)) / Double(senderCount)).rounded(.down)) + 1 : 0
        // Guard the floating-point edge: the count's last send must really be due, the next not.
        while count > 0 && dueTime(sender: sender, index: count - 1) > elapsed { count -= 1 }
        while dueTime(sender: sender, index: count) <= elapsed { count += 1 }
        return count
    }

    /// Sends `sender` makes in a run of `duration` nanoseconds (those due strictly before its end).
    func totalCount(sender: Int, duration: UInt64) -> Int {
        duration == 0 ? 0 : dueCount(sender: sender, elapsed: duration - 1)
    }
}
