import ChatCore
import Foundation

extension ChatLimits {
    /// The limits with `NAME=VALUE` settings applied (`chat-node --limit`): names are the keys of
    /// the cluster file's `"limits"` object, values JSON numbers or booleans.
    func applying(_ settings: [String]) throws -> ChatLimits {
        guard !settings.isEmpty else { return self }
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as? [String: Any] ?? [:]
        for setting in settings {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, object[parts[0]] != nil else {
                let names = object.keys.sorted().joined(separator: ", ")
                throw ConfigurationError("--limit takes NAME=VALUE with NAME one of: \(names) (got '\(setting)')")
            }
            guard let value = try? JSONSerialization.jsonObject(with: Data(parts[1].utf8), options: .fragmentsAllowed),
                value is NSNumber
            else {
                throw ConfigurationError("--limit \(parts[0]) needs a number or true/false (got '\(parts[1])')")
            }
            object[parts[0]] = value
        }
        do {
            return try JSONDecoder().decode(ChatLimits.self, from: JSONSerialization.data(withJSONObject: object))
        } catch {
            throw ConfigurationError("--limit: \(error)")
        }
    }
}
