/// A parsed JSON value, as `JSONParser` reads it (see there for the rules: integers that fit
/// `Int64` are `.int`, other numbers `.double`; a repeated key keeps its first value).
///
/// It stays `Decodable` so that types decoded with `JSONDecoder` can hold one; the project's own
/// parsing goes through `JSONValue(parsing:)`.
public enum JSONValue: Sendable, Hashable, Decodable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses one JSON text (strict RFC 8259, see `JSONParser`).
    public init(parsing text: String) throws(JSONParseError) {
        self = try JSONParser.parse(text)
    }

    /// Parses one JSON text from UTF-8 bytes (strict RFC 8259, see `JSONParser`).
    public init(parsing bytes: UnsafeRawBufferPointer) throws(JSONParseError) {
        self = try JSONParser.parse(bytes)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    /// Writes this value as JSON text.
    public func write(into writer: inout JSONWriter) {
        switch self {
        case .null: writer.raw("null")
        case .bool(let value): writer.raw(value ? "true" : "false")
        case .int(let value): writer.int(value)
        case .double(let value): writer.rawText(value.isFinite ? "\(value)" : "null")
        case .string(let value): writer.string(value)
        case .array(let values):
            writer.raw("[")
            for (index, value) in values.enumerated() {
                if index > 0 { writer.raw(",") }
                value.write(into: &writer)
            }
            writer.raw("]")
        case .object(let fields):
            writer.raw("{")
            for (index, key) in fields.keys.sorted().enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(key)
                writer.raw(":")
                fields[key]!.write(into: &writer)
            }
            writer.raw("}")
        }
    }
}

extension JSONValue {
    /// The string, or nil for any other kind of value.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// A non-negative integer, or nil.
    public var uint64Value: UInt64? {
        if case .int(let value) = self, value >= 0 { return UInt64(value) }
        return nil
    }

    /// An integer, or nil.
    public var int64Value: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The elements of an array, or nil.
    public var arrayValue: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }
}
