import ChatClient
import ChatCore
import Testing

@Suite struct JSONScannerTests {
    @Test func scalarsAndContainers() throws {
        let value = try JSONScanner.parse(#" {"a": [1, -2, 3.5, 1e3, true, false, null], "b": {"c": ""}} "#)
        #expect(
            value
                == .object([
                    "a": .array([.int(1), .int(-2), .double(3.5), .double(1000), .bool(true), .bool(false), .null]),
                    "b": .object(["c": .string("")]),
                ]))
    }

    @Test func stringEscapes() throws {
        let value = try JSONScanner.parse(#""q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83d\ude00 \u2028""#)
        #expect(value == .string("q\" b\\ s/ \u{08}\u{0C}\n\r\t é 😀 \u{2028}"))
    }

    @Test func roundTripsJSONWriterOutput() throws {
        var writer = JSONWriter()
        let text = "ctl \u{01}\u{1F} \"quoted\" \\ \u{2029} ünïcødé"
        writer.string(text)
        #expect(try JSONScanner.parse(writer.text) == .string(text))
    }

    @Test func bigIntegersBecomeDoubles() throws {
        #expect(try JSONScanner.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSONScanner.parse("92233720368547758070") == .double(9.2233720368547758e19))
    }

    @Test(arguments: [
        "", "{", "}", "[1,]", "{\"a\"}", "{\"a\":1,}", "tru", "nul", "01x", "-", "1.", "1e", "\"abc",
        "\"a\u{01}b\"", "\"\\x\"", "\"\\u12\"", "{} {}", "[1 2]", "{\"a\" 1}",
    ])
    func rejectsMalformedText(_ text: String) {
        #expect(throws: JSONScanner.ParseError.self) { try JSONScanner.parse(text) }
    }

    @Test func rejectsDeepNesting() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONScanner.ParseError.self) { try JSONScanner.parse(deep) }
        let fine = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        #expect((try? JSONScanner.parse(fine)) != nil)
    }
}
