/// An object's key as `JSONParser.nextKey()` read it: the raw bytes between the quotes when the
/// key has no escapes (the common case, no allocation), or the decoded text when it has some.
///
/// The raw form points into the parser's input: a key must not be kept beyond the buffer's
/// lifetime (use `string` for that).
public struct JSONKey {
    let raw: UnsafeRawBufferPointer
    let decoded: String?

    init(raw: UnsafeRawBufferPointer) {
        self.raw = raw
        self.decoded = nil
    }

    init(decoded: String) {
        self.raw = UnsafeRawBufferPointer(start: nil, count: 0)
        self.decoded = decoded
    }

    /// Whether the key, decoded, is `name` (so `"t\u0079pe"` matches `"type"`).
    public func matches(_ name: StaticString) -> Bool {
        let expected = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        if let decoded { return decoded.utf8.elementsEqual(expected) }
        guard raw.count == expected.count else { return false }
        for offset in 0..<raw.count where raw[offset] != expected[offset] { return false }
        return true
    }

    /// The key as a string.
    public var string: String { decoded ?? String(decoding: raw, as: UTF8.self) }
}
