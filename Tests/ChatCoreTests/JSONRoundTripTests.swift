import ChatCore
import Foundation
import Testing

/// `JSONWriter`'s output, checked against `JSONParser` and Foundation's `JSONSerialization`, over
/// seeded random values.
@Suite struct JSONRoundTripTests {
    /// A random value of at most `depth` levels: every kind, strings mixing ASCII, characters
    /// that need escaping (quotes, backslashes, controls, U+2028/9) and multi-byte scalars.
    static func randomValue(_ random: inout SplitMix64, depth: Int) -> JSONValue {
        switch random.next() % (depth > 0 ? 7 : 5) {
        case 0: return .null
        case 1: return .bool(random.next() % 2 == 0)
        case 2:
            let magnitude = random.next() >> (random.next() % 64)
            return .int(Int64(bitPattern: random.next() % 2 == 0 ? magnitude : 0 &- magnitude))
        case 3:
            let double = Double(bitPattern: random.next())
            return double.isFinite ? .double(double) : .double(Double(Int64(bitPattern: random.next())) / 1024)
        case 4: return .string(randomString(&random))
        case 5: return .array((0..<random.next() % 5).map { _ in randomValue(&random, depth: depth - 1) })
        default:
            var fields: [String: JSONValue] = [:]
            for _ in 0..<random.next() % 5 { fields[randomString(&random)] = randomValue(&random, depth: depth - 1) }
            return .object(fields)
        }
    }

    static func randomString(_ random: inout SplitMix64) -> String {
        let special: [Unicode.Scalar] = ["\"", "\\", "/", "\n", "\r", "\t", "\u{0}", "\u{1F}", "\u{7F}", "\u{2028}", "\u{2029}", "\u{E2}"]
        var scalars = String.UnicodeScalarView()
        for _ in 0..<random.next() % 24 {
            switch random.next() % 6 {
            case 0: scalars.append(special[Int(random.next() % UInt64(special.count))])
            case 1: scalars.append(Unicode.Scalar(UInt32(0x80 + random.next() % 0x780))!)
            case 2: scalars.append(Unicode.Scalar(UInt32(0x800 + random.next() % 0xD000))!)
            case 3: scalars.append(Unicode.Scalar(UInt32(0x10000 + random.next() % 0xFFFFF))!)
            default: scalars.append(Unicode.Scalar(UInt8(0x20 + random.next() % 0x5F)))
            }
        }
        return String(scalars)
    }

    static func written(_ value: JSONValue) -> JSONWriter {
        var writer = JSONWriter()
        value.write(into: &writer)
        return writer
    }

    @Test func randomValuesRoundTripThroughWriterAndParser() throws {
        var random = SplitMix64(seed: 0x5EED_0001)
        for _ in 0..<2_000 {
            let value = Self.randomValue(&random, depth: 4)
            let writer = Self.written(value)
            #expect(try JSONParser.parse(writer.text) == value, "\(writer.text)")
            let fromBytes = try writer.bytes.withUnsafeBytes { buffer in
                try Result { () throws(JSONParseError) in try JSONParser.parse(buffer) }.get()
            }
            #expect(fromBytes == value)
        }
    }

    /// The writer's text is JSON by an independent judge too, with the same strings and numbers.
    @Test func writerOutputIsJSONForFoundation() throws {
        var random = SplitMix64(seed: 42)
        for _ in 0..<300 {
            let text = Self.randomString(&random)
            var writer = JSONWriter()
            writer.string(text)
            let decoded = try JSONSerialization.jsonObject(with: Data(writer.bytes), options: .fragmentsAllowed)
            #expect(decoded as? String == text)
            let value = Self.randomValue(&random, depth: 3)
            _ = try JSONSerialization.jsonObject(with: Data(Self.written(value).bytes), options: .fragmentsAllowed)
        }
    }

    /// Random edits of valid texts never crash the parser, and what it accepts it reads the same
    /// way through `skipValue` (the token path) as through `readValue`.
    @Test func mutatedTextsAreRefusedOrReadConsistently() {
        var random = SplitMix64(seed: 7)
        let alphabet = Array(#"{}[]:,"\ u0123456789abcdefEe+-.tfnrl x"#.utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xE2, 0xFF]
        for _ in 0..<3_000 {
            var bytes = Self.written(Self.randomValue(&random, depth: 3)).bytes
            for _ in 0...random.next() % 3 where !bytes.isEmpty {
                let at = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 3 {
                case 0: bytes[at] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: at)
                }
            }
            bytes.withUnsafeBytes { buffer in
                let parsed = Result { () throws(JSONParseError) in try JSONParser.parse(buffer) }
                let skipped = Result { () throws(JSONParseError) in
                    var parser = JSONParser(bytes: buffer)
                    try parser.skipValue()
                    try parser.finish()
                }
                switch (parsed, skipped) {
                case (.success, .success): break
                case (.failure(let a), .failure(let b)): #expect(a == b, "\(bytes)")
                default: Issue.record("readValue and skipValue disagree on \(bytes)")
                }
            }
        }
    }

    @Test func writerEscapesExactly() {
        var writer = JSONWriter()
        writer.string("a\"b\\c\nd\re\tf\u{0}\u{1F}\u{7F}g\u{2028}\u{2029}\u{2027}é😀/")
        #expect(writer.text == #""a\"b\\c\nd\re\tf\u0000\u001f"# + "\u{7F}g" + #"\u2028\u2029"# + "\u{2027}é😀/\"")
        var empty = JSONWriter()
        empty.string("")
        #expect(empty.text == #""""#)
        var tail = JSONWriter()
        tail.string("x\u{E2}")
        tail.string("\u{2028}")
        #expect(tail.text == "\"x\u{E2}\"\"\\u2028\"")
    }

    @Test func writerIntegers() {
        var writer = JSONWriter()
        for value in [0, 7, -7, 10, 1_000_000_007, Int64.max, Int64.min] {
            writer.int(value)
            writer.raw(",")
        }
        writer.int(UInt64.max)
        writer.raw(",")
        writer.int(UInt8(200))
        writer.raw(",")
        writer.int(Int8.min)
        #expect(writer.text == "0,7,-7,10,1000000007,9223372036854775807,-9223372036854775808,18446744073709551615,200,-128")
    }
}
