import Crypto

/// HMAC framing of datagrams: `datagram = payload ‖ HMAC-SHA256(key, payload)` with
/// `key = SHA256(cluster secret)`. A datagram whose 32-byte tag does not verify (tampered, or
/// made with another secret, or too short) is rejected; the caller drops it and counts it.
///
/// This authenticates membership traffic (nobody without the secret can join or forge updates);
/// it does not encrypt it, and does not prevent replaying a captured datagram (a replay can only
/// repeat stale news, which incarnation numbers already make harmless).
public struct GossipAuthenticator: Sendable {
    public static let tagSize = 32

    /// HMAC state with the key already absorbed; copied for each datagram (a copy is cheaper
    /// than setting the key up again).
    private let keyed: HMAC<SHA256>

    public init(secret: String) {
        let digest = SHA256.hash(data: Array(secret.utf8))
        self.keyed = HMAC<SHA256>(key: SymmetricKey(data: Array(digest)))
    }

    private func tag(_ payload: ArraySlice<UInt8>) -> HashedAuthenticationCode<SHA256> {
        var hmac = keyed
        hmac.update(data: payload)
        return hmac.finalize()
    }

    /// The payload followed by its tag.
    public func seal(_ payload: [UInt8]) -> [UInt8] {
        var out = payload
        out.reserveCapacity(payload.count + Self.tagSize)
        tag(payload[...]).withUnsafeBytes { out.append(contentsOf: $0) }
        return out
    }

    /// The payload if the tag verifies, otherwise nil. Constant-time comparison.
    public func open(_ datagram: [UInt8]) -> ArraySlice<UInt8>? {
        guard datagram.count >= Self.tagSize else { return nil }
        let split = datagram.count - Self.tagSize
        let payload = datagram[..<split]
        let expected = tag(payload)
        // Constant time: HashedAuthenticationCode's == compares without early exit.
        guard expected == datagram[split...] else { return nil }
        return payload
    }
}
