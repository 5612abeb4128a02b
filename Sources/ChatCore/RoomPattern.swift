/// A room pattern of a user token's `rooms` claim: a room name in which `*` stands for any run of
/// characters (`team-*`, `*-public`, `*`). Matching is exact otherwise (room names are ASCII).
public struct RoomPattern: Sendable, Hashable {
    public let pattern: String
    private let parts: [Substring]

    public init(_ pattern: String) {
        self.pattern = pattern
        self.parts = pattern.split(separator: "*", omittingEmptySubsequences: false)
    }

    public func matches(_ room: String) -> Bool {
        guard parts.count > 1 else { return room == pattern }
        var rest = Substring(room)
        guard let first = parts.first, rest.hasPrefix(first) else { return false }
        rest = rest.dropFirst(first.count)
        // Each middle part at its first place after the previous one: leftmost is always safe.
        for middle in parts.dropFirst().dropLast() where !middle.isEmpty {
            while !rest.hasPrefix(middle) {
                guard !rest.isEmpty else { return false }
                rest = rest.dropFirst()
            }
            rest = rest.dropFirst(middle.count)
        }
        guard let last = parts.last else { return true }
        return rest.count >= last.count && rest.hasSuffix(last)
    }
}
