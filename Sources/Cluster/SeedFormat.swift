import ChatCore
import Foundation

/// The seed-compatible rendering of a message: `[YYYY-MM-DD HH:MM:SS] text (user)` in UTC.
public enum SeedFormat {
    public static func line(for message: ChatMessage) -> String {
        var seconds = time_t(message.ts / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let date = "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
        let time = "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
        return "[\(date) \(time)] \(message.text) (\(message.user))"
    }
}
