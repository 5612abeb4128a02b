/// The ids and texts the benchmark sends, and the cheap parsers that read them back.
///
/// - id: `m<sender>.<n>`: the global sender index and the sender's 0-based message counter, so a
///   receiver finds the message's bookkeeping slot without a dictionary.
/// - text: `T<nanoseconds>;` followed by `x` up to the requested length. The number is the
///   message's *intended* send time on the monotonic clock of the benchmark process (which both
///   sends and receives, so the clocks agree). At a fixed rate it is the scheduled time, not the
///   time the frame left, so a load generator that falls behind shows as latency instead of
///   hiding it (no coordinated omission).
enum BenchText {
    /// The smallest `--text-bytes`: room for `T`, 20 digits and `;`.
    static let minimumTextBytes = 24

    static func messageID(sender: Int, counter: Int) -> String {
        "m\(sender).\(counter)"
    }

    /// The text for a send, exactly `length` bytes long (ASCII).
    static func text(sentAt nanoseconds: UInt64, length: Int) -> String {
        var text = "T\(nanoseconds);"
        let padding = length - text.utf8.count
        if padding > 0 { text.append(String(repeating: "x", count: padding)) }
        return text
    }

    /// Reads `m<sender>.<counter>`; nil for any other id.
    static func parseMessageID(_ id: String) -> (sender: Int, counter: Int)? {
        var iterator = id.utf8.makeIterator()
        guard iterator.next() == UInt8(ascii: "m") else { return nil }
        guard let (sender, stop) = readNumber(&iterator), stop == UInt8(ascii: "."),
            let (counter, end) = readNumber(&iterator), end == nil
        else { return nil }
        return (Int(sender), Int(counter))
    }

    /// Reads the send time out of a text written by `text(sentAt:length:)`; nil for any other text.
    static func parseSendTime(_ text: String) -> UInt64? {
        var iterator = text.utf8.makeIterator()
        guard iterator.next() == UInt8(ascii: "T") else { return nil }
        guard let (nanoseconds, stop) = readNumber(&iterator), stop == UInt8(ascii: ";") else { return nil }
        return nanoseconds
    }

    /// Reads decimal digits until a non-digit (returned) or the end (nil). Nil if there is no digit
    /// or the number overflows.
    private static func readNumber(_ iterator: inout String.UTF8View.Iterator) -> (UInt64, UInt8?)? {
        var value: UInt64 = 0
        var digits = 0
        while let byte = iterator.next() {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else {
                return digits > 0 ? (value, byte) : nil
            }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1 && !overflow2 else { return nil }
            value = sum
            digits += 1
        }
        return digits > 0 ? (value, nil) : nil
    }
}
