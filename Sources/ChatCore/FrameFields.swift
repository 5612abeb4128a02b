/// The fields of a client frame (or of an HTTP send body) that some frame type reads, taken from
/// the top-level object in one pass of `JSONParser`: no dictionary, and no value kept for the
/// fields nobody reads.
///
/// Unknown fields are checked for well-formedness and skipped. A repeated key keeps its first
/// value, as `JSONDecoder` (which decoded frames before) did.
struct FrameFields {
    var type: JSONValue?
    var room: JSONValue?
    var id: JSONValue?
    var text: JSONValue?
    var user: JSONValue?
    var token: JSONValue?
    var since: JSONValue?
    var before: JSONValue?
    var limit: JSONValue?
    var ref: JSONValue?

    /// Why a text has no fields to read.
    enum Failure: Error {
        /// The text is not one JSON value.
        case notJSON
        /// The text is JSON but not an object.
        case notObject
    }

    /// Reads the fields of a JSON text that must be one object.
    static func parse(_ text: String) -> Result<FrameFields, Failure> {
        let fields: FrameFields?
        do {
            fields = try JSONParser.withParser(over: text) { (parser: inout JSONParser) throws(JSONParseError) -> FrameFields? in
                guard try parser.peek() == UInt8(ascii: "{") else {
                    try parser.skipValue()
                    try parser.finish()
                    return nil
                }
                var fields = FrameFields()
                try parser.beginObject()
                while let key = try parser.nextKey() { try fields.read(key, from: &parser) }
                try parser.finish()
                return fields
            }
        } catch {
            return .failure(.notJSON)
        }
        guard let fields else { return .failure(.notObject) }
        return .success(fields)
    }

    /// Reads the value of `key` into its field, or skips it.
    mutating func read(_ key: JSONKey, from parser: inout JSONParser) throws(JSONParseError) {
        if key.matches("type") {
            try parser.readFirstValue(into: &type)
        } else if key.matches("room") {
            try parser.readFirstValue(into: &room)
        } else if key.matches("id") {
            try parser.readFirstValue(into: &id)
        } else if key.matches("text") {
            try parser.readFirstValue(into: &text)
        } else if key.matches("ref") {
            try parser.readFirstValue(into: &ref)
        } else if key.matches("user") {
            try parser.readFirstValue(into: &user)
        } else if key.matches("token") {
            try parser.readFirstValue(into: &token)
        } else if key.matches("since") {
            try parser.readFirstValue(into: &since)
        } else if key.matches("before") {
            try parser.readFirstValue(into: &before)
        } else if key.matches("limit") {
            try parser.readFirstValue(into: &limit)
        } else {
            try parser.skipValue()
        }
    }

}
