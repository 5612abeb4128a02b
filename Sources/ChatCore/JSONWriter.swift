/// A small JSON text builder for the frames the server sends.
///
/// Server frames are written by hand instead of through `JSONEncoder`: a `message` frame is
/// encoded once per message per node and then written to every local socket, so it should cost
/// one pass over its bytes and one allocation.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func raw(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends text as it is (it must already be valid JSON).
    public mutating func rawText(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Appends an integer in decimal, digit by digit (no intermediate `String`).
    public mutating func int<T: BinaryInteger>(_ value: T) {
        if let value = Int64(exactly: value) {
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            decimal(value.magnitude)
        } else if let value = UInt64(exactly: value) {
            decimal(value)
        } else {
            bytes.append(contentsOf: String(value).utf8)
        }
    }

    mutating func decimal(_ magnitude: UInt64) {
        let start = bytes.count
        var rest = magnitude
        repeat {
            let (quotient, digit) = rest.quotientAndRemainder(dividingBy: 10)
            bytes.append(UInt8(ascii: "0") + UInt8(digit))
            rest = quotient
        } while rest > 0
        // Digits came least significant first. (Swapping in place: reversing `bytes[start...]`
        // would copy the array, the slice sharing its storage.)
        var low = start
        var high = bytes.count - 1
        while low < high {
            bytes.swapAt(low, high)
            low += 1
            high -= 1
        }
    }

    /// Appends a quoted JSON string; control characters, quotes and backslashes are escaped, and
    /// U+2028/U+2029 too, so the text is safe inside a `<script>` or JavaScript source.
    ///
    /// Works on the UTF-8 bytes: runs that need no escaping (everything but `"`, `\`, bytes
    /// below 0x20 and the three-byte sequences E2 80 A8/A9) are copied in one go.
    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        if value.utf8.withContiguousStorageIfAvailable({ escaped($0) }) == nil {
            var copy = value
            copy.withUTF8 { escaped($0) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func escaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            if byte >= 0x20, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte != 0xE2 {
                index += 1
                continue
            }
            var length = 1
            if byte == 0xE2 {
                // U+2028 is E2 80 A8 and U+2029 E2 80 A9; other E2 sequences pass unchanged.
                guard index + 2 < utf8.count, utf8[index + 1] == 0x80, utf8[index + 2] & 0xFE == 0xA8 else {
                    index += 1
                    continue
                }
                length = 3
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0xE2: raw(utf8[index + 2] == 0xA8 ? "\\u2028" : "\\u2029")
            default:
                raw("\\u00")
                let hex: StaticString = "0123456789abcdef"
                bytes.append(hex.utf8Start[Int(byte >> 4)])
                bytes.append(hex.utf8Start[Int(byte & 0xF)])
            }
            index += length
            runStart = index
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
    }

    /// Appends `"key":` (the key is written as a JSON string).
    public mutating func key(_ name: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        raw("\":")
    }

    /// Writes one JSON object: `{`, the body, `}`.
    public mutating func object(_ body: (inout ObjectWriter) -> Void) {
        raw("{")
        var object = ObjectWriter(writer: self)
        self = JSONWriter(capacity: 0)
        body(&object)
        self = object.writer
        raw("}")
    }

    /// Writes the fields of one JSON object, taking care of the commas.
    public struct ObjectWriter {
        var writer: JSONWriter
        var first = true

        mutating func next(_ key: StaticString) {
            if !first { writer.raw(",") }
            first = false
            writer.key(key)
        }

        public mutating func field(_ key: StaticString, _ value: String) {
            next(key)
            writer.string(value)
        }

        public mutating func field<T: BinaryInteger>(_ key: StaticString, _ value: T) {
            next(key)
            writer.int(value)
        }

        public mutating func field(_ key: StaticString, _ value: Bool) {
            next(key)
            writer.raw(value ? "true" : "false")
        }

        public mutating func field(_ key: StaticString, json value: JSONValue) {
            next(key)
            value.write(into: &writer)
        }

        public mutating func field(_ key: StaticString, object body: (inout ObjectWriter) -> Void) {
            next(key)
            writer.object(body)
        }

        public mutating func array<S: Sequence>(
            _ key: StaticString,
            _ elements: S,
            _ element: (inout JSONWriter, S.Element) -> Void
        ) {
            next(key)
            writer.raw("[")
            var firstElement = true
            for value in elements {
                if !firstElement { writer.raw(",") }
                firstElement = false
                element(&writer, value)
            }
            writer.raw("]")
        }
    }
}
