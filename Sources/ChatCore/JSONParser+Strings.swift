extension JSONParser {
    /// Reads a string (the parser is at its opening quote). Without escapes, the common case, the
    /// bytes between the quotes become the string in one copy.
    public mutating func readString() throws(JSONParseError) -> String {
        guard try peek() == UInt8(ascii: "\"") else { throw failure(.unexpectedByte) }
        let start = index
        switch try scanString(decode: true) {
        case .raw(let raw): return try makeString(raw, at: start)
        case .decoded(let text): return text
        }
    }

    /// Reads past a string, checking it. Only input not known to be UTF-8 with non-ASCII bytes
    /// in the string costs a copy (to check the encoding).
    mutating func skipString() throws(JSONParseError) {
        let start = index
        if case .raw(let raw) = try scanString(decode: !knownValidUTF8), !knownValidUTF8, raw.contains(where: { $0 >= 0x80 }) {
            _ = try makeString(raw, at: start)
        }
    }

    /// Reads a key (the parser is at its opening quote).
    mutating func readKey() throws(JSONParseError) -> JSONKey {
        let start = index
        switch try scanString(decode: true) {
        case .raw(let raw):
            if !knownValidUTF8, raw.contains(where: { $0 >= 0x80 }) {
                _ = try makeString(raw, at: start)
            }
            return JSONKey(raw: raw)
        case .decoded(let text): return JSONKey(decoded: text)
        }
    }

    /// A scanned string: its raw bytes when it had no escape, else its decoded text (when asked
    /// to decode; an empty string otherwise).
    enum ScannedString {
        case raw(UnsafeRawBufferPointer)
        case decoded(String)
    }

    /// Scans from the opening quote to past the closing one.
    mutating func scanString(decode: Bool) throws(JSONParseError) -> ScannedString {
        let start = index + 1
        var cursor = start
        while cursor < bytes.count {
            let byte = bytes[cursor]
            if byte == UInt8(ascii: "\"") {
                index = cursor + 1
                return .raw(UnsafeRawBufferPointer(rebasing: bytes[start..<cursor]))
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw failure(.controlCharacter, at: cursor) }
            cursor += 1
        }
        guard cursor < bytes.count else { throw failure(.unexpectedEnd, at: bytes.count) }
        return .decoded(try escapedString(start: start, firstEscape: cursor, decode: decode))
    }

    /// A string from raw string bytes, which must be valid UTF-8 (checked unless the input is
    /// known to be valid; `offset` is the string's, for the error).
    func makeString(_ raw: UnsafeRawBufferPointer, at offset: Int) throws(JSONParseError) -> String {
        guard !knownValidUTF8 else { return String(decoding: raw, as: UTF8.self) }
        guard let text = String(validating: raw, as: UTF8.self) else { throw failure(.invalidUTF8, at: offset) }
        return text
    }

    /// The rest of a string with escapes, from its first backslash; decoded into a byte array
    /// (never longer than the escaped text) when `decode`.
    mutating func escapedString(start: Int, firstEscape: Int, decode: Bool) throws(JSONParseError) -> String {
        var out: [UInt8] = []
        if decode {
            out.reserveCapacity(firstEscape - start + 16)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<firstEscape]))
        }
        var cursor = firstEscape
        var runStart = cursor
        while true {
            guard cursor < bytes.count else { throw failure(.unexpectedEnd, at: bytes.count) }
            let byte = bytes[cursor]
            if byte == UInt8(ascii: "\"") { break }
            guard byte >= 0x20 else { throw failure(.controlCharacter, at: cursor) }
            guard byte == UInt8(ascii: "\\") else {
                cursor += 1
                continue
            }
            if decode { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<cursor])) }
            let escapeStart = cursor
            guard cursor + 1 < bytes.count else { throw failure(.unexpectedEnd, at: bytes.count) }
            let escape = bytes[cursor + 1]
            cursor += 2
            let scalar: UInt32
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalar = UInt32(escape)
            case UInt8(ascii: "b"): scalar = 0x08
            case UInt8(ascii: "f"): scalar = 0x0C
            case UInt8(ascii: "n"): scalar = 0x0A
            case UInt8(ascii: "r"): scalar = 0x0D
            case UInt8(ascii: "t"): scalar = 0x09
            case UInt8(ascii: "u"): scalar = try unicodeEscape(escapeStart: escapeStart, cursor: &cursor)
            default: throw failure(.invalidEscape, at: escapeStart)
            }
            if decode { Self.appendUTF8(scalar, to: &out) }
            runStart = cursor
        }
        index = cursor + 1
        guard decode else { return "" }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<cursor]))
        let text = out.withUnsafeBytes { buffer in Result { () throws(JSONParseError) in try makeString(buffer, at: start - 1) } }
        return try text.get()
    }

    /// The scalar of a `\uXXXX` escape (`cursor` is past the `u`), combining a surrogate pair.
    func unicodeEscape(escapeStart: Int, cursor: inout Int) throws(JSONParseError) -> UInt32 {
        let unit = try hex4(at: cursor, escapeStart: escapeStart)
        cursor += 4
        switch unit {
        case 0xD800..<0xDC00:
            guard cursor + 1 < bytes.count, bytes[cursor] == UInt8(ascii: "\\"), bytes[cursor + 1] == UInt8(ascii: "u") else {
                throw failure(.loneSurrogate, at: escapeStart)
            }
            let low = try hex4(at: cursor + 2, escapeStart: cursor)
            guard (0xDC00..<0xE000).contains(low) else { throw failure(.loneSurrogate, at: escapeStart) }
            cursor += 6
            return 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
        case 0xDC00..<0xE000:
            throw failure(.loneSurrogate, at: escapeStart)
        default:
            return unit
        }
    }

    func hex4(at offset: Int, escapeStart: Int) throws(JSONParseError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw failure(.unexpectedEnd, at: bytes.count) }
        var value: UInt32 = 0
        for byte in bytes[offset..<offset + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure(.invalidEscape, at: escapeStart)
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Appends a scalar's UTF-8 encoding (the scalar is valid: surrogates were paired).
    static func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(0xC0 | UInt8(scalar >> 6))
            out.append(0x80 | UInt8(scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(0xE0 | UInt8(scalar >> 12))
            out.append(0x80 | UInt8(scalar >> 6 & 0x3F))
            out.append(0x80 | UInt8(scalar & 0x3F))
        default:
            out.append(0xF0 | UInt8(scalar >> 18))
            out.append(0x80 | UInt8(scalar >> 12 & 0x3F))
            out.append(0x80 | UInt8(scalar >> 6 & 0x3F))
            out.append(0x80 | UInt8(scalar & 0x3F))
        }
    }
}
