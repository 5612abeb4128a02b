extension JSONParser {
    /// Reads a number: `-`? then `0` or a digit 1-9 and more digits, then an optional fraction and
    /// exponent. An integer literal that fits `Int64` is `.int` (read digit by digit, no copy);
    /// anything else goes through `Double`'s own parser and is `.double`.
    public mutating func readNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        var cursor = index
        let negative = cursor < bytes.count && bytes[cursor] == UInt8(ascii: "-")
        if negative { cursor += 1 }
        guard cursor < bytes.count else { throw failure(.unexpectedEnd, at: bytes.count) }
        guard Self.isDigit(bytes[cursor]) else {
            throw failure(negative ? .invalidNumber : .unexpectedByte, at: cursor)
        }
        var magnitude: UInt64 = 0
        var overflow = false
        if bytes[cursor] == UInt8(ascii: "0") {
            cursor += 1
            if cursor < bytes.count, Self.isDigit(bytes[cursor]) { throw failure(.leadingZero, at: start) }
        } else {
            while cursor < bytes.count, Self.isDigit(bytes[cursor]) {
                let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[cursor] - UInt8(ascii: "0")))
                overflow = overflow || overflow1 || overflow2
                magnitude = sum
                cursor += 1
            }
        }
        var isInteger = true
        if cursor < bytes.count, bytes[cursor] == UInt8(ascii: ".") {
            isInteger = false
            cursor = try digits(after: cursor + 1)
        }
        if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "e") || bytes[cursor] == UInt8(ascii: "E") {
            isInteger = false
            cursor += 1
            if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "+") || bytes[cursor] == UInt8(ascii: "-") { cursor += 1 }
            cursor = try digits(after: cursor)
        }
        index = cursor
        if isInteger, !overflow {
            if !negative, magnitude <= UInt64(Int64.max) { return .int(Int64(magnitude)) }
            if negative, magnitude <= Int64.min.magnitude { return .int(Int64(bitPattern: 0 &- magnitude)) }
        }
        // Short number texts (up to 15 bytes) are stored inline in the String: no allocation.
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<cursor]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw failure(.invalidNumber, at: start) }
        return .double(value)
    }

    /// The offset past one or more digits starting at `offset`.
    func digits(after offset: Int) throws(JSONParseError) -> Int {
        var cursor = offset
        while cursor < bytes.count, Self.isDigit(bytes[cursor]) { cursor += 1 }
        guard cursor > offset else {
            throw failure(cursor < bytes.count ? .invalidNumber : .unexpectedEnd, at: cursor)
        }
        return cursor
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }
}
