import Crypto

/// Gossip datagrams encrypted and authenticated with AES-256-GCM (issue 11 §6): strangers on the
/// network can neither read membership traffic (addresses, metadata) nor forge it.
///
///     datagram = 0x01 ‖ key id (4) ‖ sent at, ms since 1970 (8, big-endian) ‖ nonce (12) ‖ ciphertext ‖ tag (16)
///
/// The version, key id and time are authenticated (additional data), so none can be changed
/// without the tag failing. Keys come from secrets through HKDF-SHA256; a key ring holds several:
/// the first seals, every one opens (the key id picks it), so a new secret can be added to every
/// node before any node seals with it. Nonces must never repeat under one key: each sealer draws
/// them from its own stream (a random 32-bit salt and a 64-bit counter run through SplitMix64, a
/// bijection, so a stream never repeats itself), seeded at random in nodes and from the seed in
/// the simulation.
public struct GossipSealer: Sendable {
    public static let version: UInt8 = 1
    public static let headerSize = 1 + 4 + 8 + 12
    public static let overhead = headerSize + 16

    struct Key: Sendable {
        let id: [UInt8]
        let key: SymmetricKey
    }

    let keys: [Key]
    private let salt: UInt32
    private var counter: UInt64

    /// - Parameter secrets: the first seals; all open.
    public init(secrets: [String], nonceSeed: UInt64 = .random(in: .min ... .max)) {
        precondition(!secrets.isEmpty, "a gossip sealer needs a secret")
        keys = secrets.map { secret in
            let key = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: Array(secret.utf8)), info: Array("chat-node gossip v1".utf8), outputByteCount: 32)
            let id = key.withUnsafeBytes { Array(SHA256.hash(data: $0).prefix(4)) }
            return Key(id: id, key: key)
        }
        salt = UInt32(truncatingIfNeeded: nonceSeed >> 32) ^ UInt32(truncatingIfNeeded: nonceSeed)
        counter = nonceSeed
    }

    private mutating func nextNonce() -> [UInt8] {
        counter &+= 0x9E37_79B9_7F4A_7C15
        var z = counter
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return withUnsafeBytes(of: salt.bigEndian, Array.init) + withUnsafeBytes(of: z.bigEndian, Array.init)
    }

    /// The datagram carrying `payload`, sealed with the first key.
    public mutating func seal(_ payload: [UInt8], sentAtMs: Int64) -> [UInt8] {
        let key = keys[0]
        var header: [UInt8] = [Self.version]
        header += key.id
        header += withUnsafeBytes(of: UInt64(bitPattern: sentAtMs).bigEndian, Array.init)
        let nonceBytes = nextNonce()
        header += nonceBytes
        // Cannot fail: the key is 256 bits and the nonce 12 bytes.
        let box = try! AES.GCM.seal(
            payload, using: key.key, nonce: try! AES.GCM.Nonce(data: nonceBytes), authenticating: header.prefix(13))
        return header + box.ciphertext + box.tag
    }

    /// What a datagram says, once its tag verifies under a key of the ring.
    public struct Opened: Sendable {
        public var payload: [UInt8]
        public var sentAtMs: Int64
        public var nonce: [UInt8]
    }

    /// The payload if the datagram is well formed and its tag verifies; otherwise nil.
    public func open(_ datagram: [UInt8]) -> Opened? {
        guard datagram.count >= Self.overhead, datagram[0] == Self.version else { return nil }
        let id = Array(datagram[1..<5])
        guard let key = keys.first(where: { $0.id == id }) else { return nil }
        let sentAt = datagram[5..<13].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let nonce = Array(datagram[13..<25])
        let end = datagram.count - 16
        guard
            let box = try? AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: nonce), ciphertext: datagram[25..<end], tag: datagram[end...]),
            let payload = try? AES.GCM.open(box, using: key.key, authenticating: datagram[0..<13])
        else { return nil }
        return Opened(payload: Array(payload), sentAtMs: Int64(bitPattern: sentAt), nonce: nonce)
    }
}
