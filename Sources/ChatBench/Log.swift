import Foundation

/// Progress lines for a person, on standard error (standard output carries the report).
enum Log {
    @Sendable static func info(_ message: String) {
        FileHandle.standardError.write(Data(("chat-bench: " + message + "\n").utf8))
    }
}
