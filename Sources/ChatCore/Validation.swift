import Foundation

/// The naming rules of protocol v1 (PROTOCOL.md). Every limit counts bytes of UTF-8 as well as
/// characters: a character (a grapheme cluster) can be any number of scalars, so a limit in
/// characters alone lets one "character" fill a frame.
public enum Validation {
    /// Most bytes of UTF-8 in a user name and in a client message id.
    public static let maxUserBytes = 128
    public static let maxMessageIDBytes = 128

    /// A user name: 1–32 characters and at most 128 bytes, no control (Cc) or format (Cf)
    /// characters: format characters include bidi overrides and zero-width characters, which let
    /// one name pass for another on screen.
    public static func isValidUser(_ user: String) -> Bool {
        guard user.utf8.count <= maxUserBytes else { return false }
        let count = user.count
        guard count >= 1, count <= 32 else { return false }
        return !user.unicodeScalars.contains {
            let category = $0.properties.generalCategory
            return category == .control || category == .format
        }
    }

    /// The name `user` stands for: its NFC form, if that is a valid name (nil otherwise). Names
    /// are normalized before auth, presence and idempotency, so that "é" typed as one scalar or
    /// as "e" and a combining accent is one user.
    public static func normalizedUser(_ user: String) -> String? {
        let normalized = user.precomposedStringWithCanonicalMapping
        return isValidUser(normalized) ? normalized : nil
    }

    /// A room name: 1–64 characters of `[A-Za-z0-9._-]`. The rule keeps room names safe in URLs,
    /// Redis keys and logs without escaping.
    public static func isValidRoom(_ room: String) -> Bool {
        let utf8 = room.utf8
        guard utf8.count >= 1, utf8.count <= 64 else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "-"):
                true
            default: false
            }
        }
    }

    /// A client message id: 1–64 characters and at most 128 bytes, no control characters.
    public static func isValidMessageID(_ id: String) -> Bool {
        guard id.utf8.count <= maxMessageIDBytes else { return false }
        let count = id.count
        guard count >= 1, count <= 64 else { return false }
        return !id.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
