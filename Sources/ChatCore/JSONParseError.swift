/// Why a text is not JSON, and where: `offset` is the byte offset of the first byte found wrong
/// (or the text's length when it ends too early).
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The rule of RFC 8259 (or of this parser's limits) that the text breaks.
    public enum Reason: String, Sendable, Hashable {
        /// The text ends inside a value (or is empty).
        case unexpectedEnd
        /// A byte that cannot start or continue a value here (a trailing comma, a missing colon).
        case unexpectedByte
        /// More than whitespace after the one top-level value.
        case trailingBytes
        /// A backslash not followed by one of `" \ / b f n r t u`, or `\u` without four hex digits.
        case invalidEscape
        /// A `\u` escape of a UTF-16 surrogate that is not half of a high-low pair.
        case loneSurrogate
        /// A byte below 0x20 inside a string (it must be escaped).
        case controlCharacter
        /// Bytes that are not well-formed UTF-8 inside a string.
        case invalidUTF8
        /// A number that does not follow the grammar (`-`, `1.`, `1e`) or overflows a `Double`.
        case invalidNumber
        /// An integer part with a leading zero (`01`, `-00`).
        case leadingZero
        /// Objects and arrays nested deeper than `JSONParser.maxDepth`.
        case tooDeep
    }

    public var reason: Reason
    public var offset: Int

    public init(_ reason: Reason, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "invalid JSON (\(reason.rawValue)) at byte \(offset)" }
}
