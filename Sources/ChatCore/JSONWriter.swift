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

    public mutating func int<T: BinaryInteger>(_ value: T) {
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Appends a quoted JSON string; control characters, quotes and backslashes are escaped, and
    /// U+2028/U+2029 too, so the text is safe inside a `<script>` or JavaScript source.
    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": raw("\\\"")
            case "\\": raw("\\\\")
            case "\n": raw("\\n")
            case "\r": raw("\\r")
            case "\t": raw("\\t")
            case "\u{2028}": raw("\\u2028")
            case "\u{2029}": raw("\\u2029")
            default:
                if scalar.value < 0x20 {
                    raw("\\u00")
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes.append(hex[Int(scalar.value >> 4)])
                    bytes.append(hex[Int(scalar.value & 0xF)])
                } else {
                    bytes.append(contentsOf: String(scalar).utf8)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
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
