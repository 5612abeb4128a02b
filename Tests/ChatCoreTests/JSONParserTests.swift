import ChatCore
import Testing

/// `JSONParser`: what it accepts and produces, and every way a text is refused.
@Suite struct JSONParserTests {
    func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try JSONParser.parse(text)
    }

    /// The reason a text is refused (nil: accepted), through the `String` entry point and, with
    /// the same answer, the raw-bytes one.
    func reason(_ text: String) -> JSONParseError.Reason? {
        let fromString: JSONParseError.Reason?
        do {
            _ = try parse(text)
            fromString = nil
        } catch {
            fromString = error.reason
        }
        let fromBytes = Array(text.utf8).withUnsafeBytes { reason(bytes: $0) }
        #expect(fromString == fromBytes, "\(text)")
        return fromString
    }

    func reason(bytes: UnsafeRawBufferPointer) -> JSONParseError.Reason? {
        do {
            _ = try JSONParser.parse(bytes)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func scalarsAndContainers() throws {
        let value = try parse(#" {"a": [1, -2, 3.5, 1e3, true, false, null], "b": {"c": ""}} "#)
        #expect(
            value
                == .object([
                    "a": .array([.int(1), .int(-2), .double(3.5), .double(1000), .bool(true), .bool(false), .null]),
                    "b": .object(["c": .string("")]),
                ]))
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object([:]))
        #expect(try parse("\t\r\n 0 \n") == .int(0))
        #expect(try parse("-0") == .int(0))
        #expect(try parse("0.5e-2") == .double(0.005))
        #expect(try parse("1E+2") == .double(100))
        #expect(try parse("\"\u{7F} é 😀\"") == .string("\u{7F} é 😀"))
    }

    @Test func stringEscapes() throws {
        let value = try parse(#""q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83d\ude00 \u2028 \u0000 \u00E9""#)
        #expect(value == .string("q\" b\\ s/ \u{08}\u{0C}\n\r\t é 😀 \u{2028} \u{0} é"))
        #expect(try parse(#""\\""#) == .string("\\"))
        #expect(try parse(#""a\nb""#) == .string("a\nb"))
    }

    @Test func integersThatFitInt64AreInts() throws {
        #expect(try parse("9223372036854775807") == .int(Int64.max))
        #expect(try parse("-9223372036854775808") == .int(Int64.min))
        #expect(try parse("9223372036854775808") == .double(9.223372036854775808e18))
        #expect(try parse("92233720368547758070") == .double(9.2233720368547758e19))
        #expect(try parse("-92233720368547758070") == .double(-9.2233720368547758e19))
        #expect(try parse("1.0") == .double(1))
    }

    @Test func repeatedKeysKeepTheFirstValue() throws {
        #expect(try parse(#"{"a":1,"a":2,"b":{"c":true,"c":false}}"#) == .object(["a": .int(1), "b": .object(["c": .bool(true)])]))
        #expect(try parse(#"{"t\u0079pe":1}"#) == .object(["type": .int(1)]))
    }

    @Test(
        arguments: [
            ("", .unexpectedEnd),
            ("   ", .unexpectedEnd),
            ("{", .unexpectedEnd),
            ("[1,", .unexpectedEnd),
            (#""abc"#, .unexpectedEnd),
            (#""\u12"#, .unexpectedEnd),
            ("}", .unexpectedByte),
            ("[1,]", .unexpectedByte),
            (#"{"a":1,}"#, .unexpectedByte),
            (#"{"a"}"#, .unexpectedByte),
            (#"{"a" 1}"#, .unexpectedByte),
            ("{a:1}", .unexpectedByte),
            ("[1 2]", .unexpectedByte),
            ("[,1]", .unexpectedByte),
            ("tru", .unexpectedEnd),
            ("nul", .unexpectedEnd),
            ("trUe", .unexpectedByte),
            ("'a'", .unexpectedByte),
            ("+1", .unexpectedByte),
            (".5", .unexpectedByte),
            ("NaN", .unexpectedByte),
            ("Infinity", .unexpectedByte),
            ("{} {}", .trailingBytes),
            ("1 2", .trailingBytes),
            ("01x", .leadingZero),
            ("01", .leadingZero),
            ("-00", .leadingZero),
            ("0x1", .trailingBytes),
            ("/* c */ 1", .unexpectedByte),
            ("-", .unexpectedEnd),
            ("-a", .invalidNumber),
            ("1.", .unexpectedEnd),
            ("1.e3", .invalidNumber),
            ("1e", .unexpectedEnd),
            ("1e+", .unexpectedEnd),
            ("[1e]", .invalidNumber),
            ("1e400", .invalidNumber),
            ("-1e400", .invalidNumber),
            ("\"a\u{01}b\"", .controlCharacter),
            ("\"a\nb\"", .controlCharacter),
            ("\"a\\n\tb\"", .controlCharacter),
            (#""\x""#, .invalidEscape),
            (#""\U0041""#, .invalidEscape),
            (#""\u12G4""#, .invalidEscape),
            (#""\'""#, .invalidEscape),
            (#""\ud800""#, .loneSurrogate),
            (#""\ud800x""#, .loneSurrogate),
            (#""\ud800\n""#, .loneSurrogate),
            (#""\ud800\u0041""#, .loneSurrogate),
            (#""\udc00""#, .loneSurrogate),
            (#""\udfff\ud800""#, .loneSurrogate),
            (#"{"k\x":1}"#, .invalidEscape),
            (#"{"a":[1,{"b":"\q"}]}"#, .invalidEscape),
        ] as [(String, JSONParseError.Reason)])
    func rejectsMalformedText(text: String, expected: JSONParseError.Reason) {
        #expect(reason(text) == expected, "\(text)")
    }

    @Test func errorOffsetPointsAtTheProblem() {
        #expect(throws: JSONParseError(.unexpectedByte, offset: 6)) { try parse("[1, 2,]") }
        #expect(throws: JSONParseError(.trailingBytes, offset: 3)) { try parse("{} x") }
        #expect(throws: JSONParseError(.invalidEscape, offset: 3)) { try parse(#""ab\x""#) }
        #expect(JSONParseError(.tooDeep, offset: 2).description == "invalid JSON (tooDeep) at byte 2")
    }

    @Test func nestingDeeperThanTheLimitFails() {
        let limit = JSONParser.maxDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(reason(deepest) == nil)
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(reason(tooDeep) == .tooDeep)
        let objects = String(repeating: #"{"a":"#, count: limit + 1) + "1" + String(repeating: "}", count: limit + 1)
        #expect(reason(objects) == .tooDeep)
        let hostile = String(repeating: "[", count: 100_000)
        #expect(reason(hostile) == .tooDeep)
    }

    @Test func invalidUTF8InRawBytesFails() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22],  // not UTF-8 at all
            [0x22, 0xC3, 0x22],  // truncated sequence
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // an encoded surrogate
            [0x22, 0xC0, 0xAF, 0x22],  // overlong
            [0x22, 0x5C, 0x6E, 0xFF, 0x22],  // after an escape
            Array(#"{"a":1,""#.utf8) + [0xFF] + Array(#"":2}"#.utf8),  // in a key
            Array(#"{"a":[""#.utf8) + [0xFF] + Array(#""]}"#.utf8),  // in a nested value
        ]
        for bytes in cases {
            #expect(bytes.withUnsafeBytes { reason(bytes: $0) } == .invalidUTF8, "\(bytes)")
        }
        let skipped = Array(#"{"x":""#.utf8) + [0xFF] + Array(#"","a":1}"#.utf8)
        let outcome = skipped.withUnsafeBytes { buffer in
            Result { () throws(JSONParseError) -> Int in
                var parser = JSONParser(bytes: buffer)
                try parser.beginObject()
                while try parser.nextKey() != nil { try parser.skipValue() }
                return parser.index
            }
        }
        #expect(throws: JSONParseError(.invalidUTF8, offset: 5)) { try outcome.get() }
        let fine: [UInt8] = [0x22, 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80, 0x22]
        #expect(fine.withUnsafeBytes { reason(bytes: $0) } == nil)
    }

    @Test func tokensReadAKnownShape() throws {
        let text = #" {"type" : "send", "n\u0061me": [1, {"x": null}], "n": -12.5e1, "s": "v\"w", "skip": {"a": [true]}} "#
        let read = try JSONParser.withParser(over: text) { (parser: inout JSONParser) throws(JSONParseError) in
            var seen: [String: JSONValue] = [:]
            try parser.beginObject()
            while let key = try parser.nextKey() {
                if key.matches("type") || key.matches("name") || key.matches("n") || key.matches("s") {
                    seen[key.string] = try parser.readValue()
                } else {
                    #expect(key.matches("skip"))
                    #expect(!key.matches("ski"))
                    try parser.skipValue()
                }
            }
            try parser.finish()
            return seen
        }
        #expect(
            read == [
                "type": .string("send"), "name": .array([.int(1), .object(["x": .null])]), "n": .double(-125), "s": .string("v\"w"),
            ])
    }

    @Test func tokensRefuseWhatTheShapeDoesNotAllow() {
        func run(_ text: String, _ body: (inout JSONParser) throws(JSONParseError) -> Void) -> JSONParseError.Reason? {
            do {
                try JSONParser.withParser(over: text, body)
                return nil
            } catch {
                return error.reason
            }
        }
        #expect(run("[1]") { (parser: inout JSONParser) throws(JSONParseError) in try parser.beginObject() } == .unexpectedByte)
        #expect(run("{}") { (parser: inout JSONParser) throws(JSONParseError) in try parser.beginArray() } == .unexpectedByte)
        #expect(run("1") { (parser: inout JSONParser) throws(JSONParseError) in _ = try parser.readString() } == .unexpectedByte)
        #expect(
            run(#"{"a":1 "b":2}"#) { (parser: inout JSONParser) throws(JSONParseError) in
                try parser.beginObject()
                while try parser.nextKey() != nil { try parser.skipValue() }
            } == .unexpectedByte)
        #expect(
            run("[1,2] x") { (parser: inout JSONParser) throws(JSONParseError) in
                try parser.skipValue()
                try parser.finish()
            } == .trailingBytes)
    }
}
