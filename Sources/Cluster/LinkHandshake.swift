import Crypto
import Foundation

/// The handshake that opens an internal link, as a pure state machine. Both sides prove that they
/// hold the cluster secret without sending it, and each proof is bound to both nonces and both
/// node ids, so a recorded handshake cannot be replayed:
///
///     client -> server   hello(clientID, nonceC)
///     server -> client   challenge(serverID, nonceS, HMAC(key, "server" | nonceC | nonceS | serverID | clientID))
///     client -> server   proof(HMAC(key, "client" | nonceS | nonceC | clientID | serverID))
///
/// `key` is SHA-256 of the secret. Until the handshake completes, any other frame closes the
/// link. (Frames after it are not signed one by one: the links are meant for a private network.)
public struct LinkHandshake: Sendable {
    public enum Role: Sendable { case client, server }

    public enum Action: Sendable, Equatable {
        case send(InternalFrame)
        /// The peer proved the secret; the link carries requests from now on.
        case established(peer: String)
        /// The peer failed the handshake (wrong secret, wrong order): close the link.
        case reject(String)
        case none
    }

    enum State: Sendable {
        case clientWaitingForChallenge(nonce: [UInt8])
        case serverWaitingForHello
        case serverWaitingForProof(peer: String, clientNonce: [UInt8], serverNonce: [UInt8])
        case established(peer: String)
        case failed
    }

    public let role: Role
    public let nodeID: String
    private let key: SymmetricKey
    private var state: State

    /// Starts a handshake. A client gets the `hello` it must send first.
    public init(role: Role, nodeID: String, secret: String, nonce: [UInt8] = LinkHandshake.randomNonce()) {
        self.role = role
        self.nodeID = nodeID
        self.key = SymmetricKey(data: SHA256.hash(data: Data(secret.utf8)))
        self.state = role == .client ? .clientWaitingForChallenge(nonce: nonce) : .serverWaitingForHello
    }

    /// The first frame a client sends.
    public var hello: InternalFrame? {
        if case .clientWaitingForChallenge(let nonce) = state { return .hello(node: nodeID, nonce: nonce) }
        return nil
    }

    public var isEstablished: Bool {
        if case .established = state { return true }
        return false
    }

    public static func randomNonce() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    public mutating func receive(_ frame: InternalFrame, serverNonce: [UInt8] = LinkHandshake.randomNonce()) -> Action {
        switch (state, frame) {
        case (.serverWaitingForHello, .hello(let peer, let clientNonce)) where clientNonce.count == 32 && !peer.isEmpty:
            state = .serverWaitingForProof(peer: peer, clientNonce: clientNonce, serverNonce: serverNonce)
            let proof = mac("server", clientNonce, serverNonce, nodeID, peer)
            return .send(.challenge(node: nodeID, nonce: serverNonce, proof: proof))
        case (.clientWaitingForChallenge(let clientNonce), .challenge(let peer, let serverNonce, let proof)):
            guard serverNonce.count == 32, Self.equal(proof, mac("server", clientNonce, serverNonce, peer, nodeID)) else {
                state = .failed
                return .reject("the peer does not hold the cluster secret")
            }
            state = .established(peer: peer)
            return .send(.proof(mac("client", serverNonce, clientNonce, nodeID, peer)))
        case (.serverWaitingForProof(let peer, let clientNonce, let serverNonce), .proof(let proof)):
            guard Self.equal(proof, mac("client", serverNonce, clientNonce, peer, nodeID)) else {
                state = .failed
                return .reject("the peer does not hold the cluster secret")
            }
            state = .established(peer: peer)
            return .established(peer: peer)
        default:
            state = .failed
            return .reject("unexpected frame during the handshake")
        }
    }

    private func mac(_ label: String, _ first: [UInt8], _ second: [UInt8], _ a: String, _ b: String) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: key)
        for part in [Array(label.utf8), first, second, Array(a.utf8), [0], Array(b.utf8)] {
            hmac.update(data: part)
        }
        return Array(hmac.finalize())
    }

    private static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
