/// The naming rules of protocol v1 (PROTOCOL.md).
public enum Validation {
    /// A user name: 1–32 characters, no control characters.
    public static func isValidUser(_ user: String) -> Bool {
        let count = user.count
        guard count >= 1, count <= 32 else { return false }
        return !user.unicodeScalars.contains { $0.properties.generalCategory == .control }
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

    /// A client message id: 1–64 characters, no control characters.
    public static func isValidMessageID(_ id: String) -> Bool {
        let count = id.count
        guard count >= 1, count <= 64 else { return false }
        return !id.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
