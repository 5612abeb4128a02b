/// xxHash64 (Yann Collet, <https://github.com/Cyan4973/xxHash>), implemented by hand.
///
/// This is the ring's *stable* hash: it depends only on the input bytes and the seed, never on the
/// process, the machine or the Swift version (unlike `Hasher`, which is seeded per process). It is
/// the reference XXH64 algorithm, so any other implementation (`xxhsum -H1`, Python's `xxhash`,
/// Go's `cespare/xxhash`, ...) gives the same answer for the same UTF-8 bytes and seed 0; the
/// known-answer tests in `RingTests` pin it.
///
/// Why xxHash64: it passes SMHasher, every output bit depends on every input bit through its final
/// avalanche, it is fast on short strings (room names and virtual-node labels are 5–30 bytes), and
/// it is widely available for cross-checking. Inputs are read as little-endian words whatever the
/// host byte order, as the specification requires.
enum XXH64 {
    static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always)
    static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 {
        (x &<< r) | (x &>> (64 &- r))
    }

    @inline(__always)
    static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* prime2, 31) &* prime1
    }

    @inline(__always)
    static func mergeRound(_ acc: UInt64, _ val: UInt64) -> UInt64 {
        (acc ^ round(0, val)) &* prime1 &+ prime4
    }

    @inline(__always)
    static func load64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    static func load32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    /// XXH64 of `bytes` with `seed`. Reads the buffer in place; never allocates.
    static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let length = bytes.count
        var offset = 0
        var h: UInt64
        if length >= 32 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            let limit = length - 32
            while offset <= limit {
                v1 = round(v1, load64(bytes, offset))
                v2 = round(v2, load64(bytes, offset + 8))
                v3 = round(v3, load64(bytes, offset + 16))
                v4 = round(v4, load64(bytes, offset + 24))
                offset += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = mergeRound(h, v1)
            h = mergeRound(h, v2)
            h = mergeRound(h, v3)
            h = mergeRound(h, v4)
        } else {
            h = seed &+ prime5
        }
        h &+= UInt64(truncatingIfNeeded: length)
        while offset + 8 <= length {
            h ^= round(0, load64(bytes, offset))
            h = rotl(h, 27) &* prime1 &+ prime4
            offset += 8
        }
        if offset + 4 <= length {
            h ^= load32(bytes, offset) &* prime1
            h = rotl(h, 23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < length {
            h ^= UInt64(bytes[offset]) &* prime5
            h = rotl(h, 11) &* prime1
            offset += 1
        }
        h ^= h &>> 33
        h &*= prime2
        h ^= h &>> 29
        h &*= prime3
        h ^= h &>> 32
        return h
    }

    /// XXH64 (seed 0) of the UTF-8 bytes of `string`.
    ///
    /// Native Swift strings (every string on Linux, and every string not bridged from an
    /// `NSString` on Apple platforms) are hashed in place, small ones from a stack copy, so this
    /// does not allocate. A non-contiguous bridged string is made native once first.
    @inline(__always)
    static func hash(utf8 string: String) -> UInt64 {
        if let h = string.utf8.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) {
            return h
        }
        var native = string
        return native.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }
}
