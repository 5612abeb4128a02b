/// The one JSON parser of the project: strict RFC 8259 over UTF-8 bytes, in one pass, without
/// intermediate copies.
///
/// Two ways to use it:
/// - `JSONParser.parse(_:)` (or `JSONValue(parsing:)`) reads a whole text into a `JSONValue`.
/// - The token methods read a known shape straight into the caller's fields, with no dictionary
///   and no `JSONValue` for the parts the caller does not keep: `beginObject()` then
///   `nextKey()` until it returns nil, with one `readValue()` or `skipValue()` after each key;
///   `beginArray()` then `nextElement()` likewise; `finish()` at the end. `ClientFrame.decode`
///   and ChatClient's `ServerEvent` decode the frequent frames this way.
///
/// Strictness: exactly one value with optional surrounding whitespace; no trailing commas,
/// comments, single quotes, leading zeros, `NaN` or `Infinity`; control characters in strings
/// must be escaped; escapes are the eight of the RFC plus `\uXXXX`, and a `\u` surrogate must be
/// a high-low pair; strings must be well-formed UTF-8; nesting deeper than `maxDepth` fails.
///
/// Numbers: an integer literal (no fraction, no exponent) that fits `Int64` becomes `.int`; every
/// other number `.double` (`1.0` and `1e3` are doubles; a number beyond `Double`'s range fails).
/// Objects: when a key repeats, the first value is kept (as `JSONDecoder` did) and the later
/// ones are still checked for well-formedness.
///
/// The parser reads through an unsafe pointer: it must not outlive the buffer it was made with,
/// and neither may the `JSONKey`s it returns. The entry points taking a `String` take care of
/// that.
public struct JSONParser {
    /// Deepest nesting of objects and arrays accepted, so a hostile text cannot exhaust the stack
    /// (a chat frame needs 3).
    public static let maxDepth = 64

    let bytes: UnsafeRawBufferPointer
    /// Whether the input is known to be valid UTF-8 (it came from a `String`), so strings need
    /// not be validated again.
    let knownValidUTF8: Bool
    /// Offset of the next byte to read.
    public internal(set) var index = 0
    var depth = 0
    /// True right after `beginObject()` / `beginArray()`: the next `nextKey()` / `nextElement()`
    /// expects a member or the closing bracket, not a comma. One flag suffices for any nesting:
    /// a nested container always ends with it false, which is what the outer one expects then.
    var atContainerStart = false

    /// A parser over UTF-8 bytes. `isValidUTF8`: the caller guarantees the bytes are valid UTF-8
    /// (they are a `String`'s), which skips the check of non-ASCII strings.
    public init(bytes: UnsafeRawBufferPointer, isValidUTF8: Bool = false) {
        self.bytes = bytes
        self.knownValidUTF8 = isValidUTF8
    }

    /// Parses one JSON text into a value.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        return try parser.readDocument()
    }

    /// Parses one JSON text into a value.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try withParser(over: text) { (parser: inout JSONParser) throws(JSONParseError) in try parser.readDocument() }
    }

    /// Runs `body` with a parser over the string's UTF-8 bytes, without copying them when the
    /// string is stored contiguously (native strings are).
    public static func withParser<Result>(
        over text: String, _ body: (inout JSONParser) throws(JSONParseError) -> Result
    ) throws(JSONParseError) -> Result {
        let outcome = text.utf8.withContiguousStorageIfAvailable { buffer in
            var parser = JSONParser(bytes: UnsafeRawBufferPointer(buffer), isValidUTF8: true)
            return Swift.Result { () throws(JSONParseError) in try body(&parser) }
        }
        if let outcome { return try outcome.get() }
        var copy = text
        let copied = copy.withUTF8 { buffer in
            var parser = JSONParser(bytes: UnsafeRawBufferPointer(buffer), isValidUTF8: true)
            return Swift.Result { () throws(JSONParseError) in try body(&parser) }
        }
        return try copied.get()
    }

    func failure(_ reason: JSONParseError.Reason, at offset: Int? = nil) -> JSONParseError {
        JSONParseError(reason, offset: offset ?? index)
    }

    /// The whole input as one value: the value, then nothing but whitespace.
    mutating func readDocument() throws(JSONParseError) -> JSONValue {
        let value = try readValue()
        try finish()
        return value
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// Checks that only whitespace remains.
    public mutating func finish() throws(JSONParseError) {
        skipWhitespace()
        guard index == bytes.count else { throw failure(.trailingBytes) }
    }

    /// The next byte after whitespace, or `unexpectedEnd`.
    mutating func peek() throws(JSONParseError) -> UInt8 {
        skipWhitespace()
        guard index < bytes.count else { throw failure(.unexpectedEnd) }
        return bytes[index]
    }

    mutating func open(_ bracket: UInt8) throws(JSONParseError) {
        guard try peek() == bracket else { throw failure(.unexpectedByte) }
        guard depth < Self.maxDepth else { throw failure(.tooDeep) }
        depth += 1
        index += 1
        atContainerStart = true
    }

    /// After a member or element: true at the closing bracket (consumed), false after a comma
    /// (consumed); right after the opening bracket, true at the closing one and false otherwise.
    mutating func closes(_ bracket: UInt8) throws(JSONParseError) -> Bool {
        let byte = try peek()
        if byte == bracket {
            index += 1
            depth -= 1
            atContainerStart = false
            return true
        }
        if atContainerStart {
            atContainerStart = false
            return false
        }
        guard byte == UInt8(ascii: ",") else { throw failure(.unexpectedByte) }
        index += 1
        // RFC 8259 has no trailing comma: a member must follow.
        _ = try peek()
        return false
    }

    /// Reads the `{` of an object.
    public mutating func beginObject() throws(JSONParseError) {
        try open(UInt8(ascii: "{"))
    }

    /// The next key of the object being read and its colon, or nil at its closing `}`. Read or
    /// skip the key's value before asking for the next key.
    public mutating func nextKey() throws(JSONParseError) -> JSONKey? {
        if try closes(UInt8(ascii: "}")) { return nil }
        guard try peek() == UInt8(ascii: "\"") else { throw failure(.unexpectedByte) }
        let key = try readKey()
        guard try peek() == UInt8(ascii: ":") else { throw failure(.unexpectedByte) }
        index += 1
        return key
    }

    /// Reads the `[` of an array.
    public mutating func beginArray() throws(JSONParseError) {
        try open(UInt8(ascii: "["))
    }

    /// Whether the array being read has another element (then read or skip it), false at its
    /// closing `]`.
    public mutating func nextElement() throws(JSONParseError) -> Bool {
        try !closes(UInt8(ascii: "]"))
    }

    /// Reads the next value.
    public mutating func readValue() throws(JSONParseError) -> JSONValue {
        switch try peek() {
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "{"):
            try beginObject()
            var fields: [String: JSONValue] = [:]
            while let key = try nextKey() {
                let name = key.string
                let value = try readValue()
                if fields[name] == nil { fields[name] = value }
            }
            return .object(fields)
        case UInt8(ascii: "["):
            try beginArray()
            var values: [JSONValue] = []
            while try nextElement() { values.append(try readValue()) }
            return .array(values)
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            return try readNumber()
        }
    }

    /// Reads past the next value, checking it as strictly as `readValue()` but keeping nothing.
    /// Reads the next value into `field` if it is still nil; otherwise only checks and skips it
    /// (with a repeated key, the first value counts).
    public mutating func readFirstValue(into field: inout JSONValue?) throws(JSONParseError) {
        if field == nil {
            field = try readValue()
        } else {
            try skipValue()
        }
    }

    public mutating func skipValue() throws(JSONParseError) {
        switch try peek() {
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "{"):
            try beginObject()
            while try nextKey() != nil { try skipValue() }
        case UInt8(ascii: "["):
            try beginArray()
            while try nextElement() { try skipValue() }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try readNumber()
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        for offset in 0..<count {
            guard index + offset < bytes.count else { throw failure(.unexpectedEnd, at: bytes.count) }
            guard bytes[index + offset] == word.utf8Start[offset] else { throw failure(.unexpectedByte, at: index + offset) }
        }
        index += count
    }
}
