import ChatCore

/// The rule for a message read back from the history store (issue 11 §7): the store is a cache
/// that others may write to, so its entries are checked like client input before they reach a
/// room's log or a client.
enum StoredEntry {
    /// The largest seq accepted from the store: 2^53, the largest integer a browser's `Number`
    /// holds exactly. A room continues after its stored seq, so an entry beyond it could otherwise
    /// push the room's arithmetic to overflow.
    static let maxSeq: UInt64 = 1 << 53

    /// Most bytes of a stored text: what a 64 KiB client frame could have carried.
    static let maxTextBytes = 64 * 1024

    static func isTrustworthy(_ message: ChatMessage, room: String) -> Bool {
        message.room == room && message.seq >= 1 && message.seq <= maxSeq
            && Validation.isValidUser(message.user) && !message.id.isEmpty && message.id.utf8.count <= 128
            && message.text.utf8.count <= maxTextBytes
    }
}
