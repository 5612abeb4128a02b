import Testing

@testable import Ring

/// The hash must never change silently: every node of a cluster, whatever its build, has to place
/// keys at the same positions. Expected values are the reference XXH64 (seed 0) of the UTF-8
/// bytes, as given by Python's `xxhash.xxh64_intdigest` (and `xxhsum -H1`).
@Suite("Stable hash (xxHash64)")
struct HashTests {
    static let knownAnswers: [(String, UInt64)] = [
        ("", 0xEF46_DB37_51D8_E999),
        ("a", 0xD24E_C4F1_A98C_6E5B),
        ("abc", 0x44BC_2CF5_AD77_0999),
        ("abcd", 0xDE03_27B0_D25D_92CC),
        ("room-0", 0xA090_7B6A_A583_94D9),
        ("node-1#0", 0x8729_42A1_B822_4862),
        ("node-7#511", 0x498D_2575_2951_918F),
        ("héllo wörld 🙂", 0x1AC8_EF84_4A0F_1B7A),
        ("0123456789abcdef0123456789abcdef", 0x642A_9495_8E71_E6C5),
        ("Nobody inspects the spammish repetition", 0xFBCE_A83C_8A37_8BF1),
        ("0123456789abcdef0123456789abcdef0123456789", 0xA761_90C3_ACF0_8A1C),
        (
            "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog!",
            0x6C0F_B569_029E_1F56
        ),
    ]

    @Test("known answers", arguments: knownAnswers)
    func knownAnswer(input: String, expected: UInt64) {
        let got = HashRing.hash(input)
        #expect(got == expected, "hash(\(input.debugDescription)) = 0x\(String(got, radix: 16)), expected 0x\(String(expected, radix: 16))")
    }

    @Test("the same bytes hash the same however the String was made")
    func representationIndependent() {
        let long = "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog!"
        let pieces = String(long.prefix(44)) + String(long.dropFirst(44))
        let fromSubstring = String(Substring(long))
        let fromScalars = String(String.UnicodeScalarView(long.unicodeScalars))
        #expect(HashRing.hash(pieces) == 0x6C0F_B569_029E_1F56)
        #expect(HashRing.hash(fromSubstring) == 0x6C0F_B569_029E_1F56)
        #expect(HashRing.hash(fromScalars) == 0x6C0F_B569_029E_1F56)
        // Bytes, not canonical equivalence: precomposed and decomposed "é" are different keys.
        #expect(HashRing.hash("\u{E9}") != HashRing.hash("e\u{301}"))
    }

    @Test("virtual node i of member m sits at hash(\"m#i\")")
    func virtualNodePlacement() {
        #expect(HashRing.virtualNodePoint(member: "node-7", index: 511) == 0x498D_2575_2951_918F)
        let members = ["node-1", "node-7", "a#b", "é"]
        let ring = HashRing(members: members, virtualNodes: 37)
        var expected: [(UInt64, String)] = []
        for member in members {
            for i in 0..<37 { expected.append((HashRing.hash("\(member)#\(i)"), member)) }
        }
        expected.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1.utf8.lexicographicallyPrecedes($1.1.utf8) }
        #expect(ring.points == expected.map(\.0))
        #expect(ring.owners.map { ring.members[Int($0)] } == expected.map(\.1))
        // Indices with 1 to 4 digits.
        let wide = HashRing(members: ["m"], virtualNodes: 1_001)
        #expect(wide.points == (0..<1_001).map { HashRing.hash("m#\($0)") }.sorted())
    }
}
