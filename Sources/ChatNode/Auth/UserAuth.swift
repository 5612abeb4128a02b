import ChatCore
import Foundation
import JWTKit

/// User authentication (issue 11 §4): JWTs verified with vapor/jwt-kit against the keys of the
/// cluster file's `auth` section, HS256 and ES256, several at once so that keys rotate without a
/// restart of every client (`kid`).
///
/// Rules a reader could not guess:
/// - a token naming a `kid` is checked only against that key; an unknown `kid` is refused (jwt-kit
///   would otherwise fall back to its default key);
/// - a token without `kid` is checked against the default key (`auth.secret`, or the first key);
/// - the header's `alg` must be the key's algorithm (no `none`, no HS256 made with a public key);
/// - `exp` is required (30 s of leeway); `sub` is the user, compared after NFC normalization;
/// - tokens never reach a log line: failures say why, never what was presented.
final class UserAuth: Sendable {
    /// One verification key.
    struct Key: Sendable, Equatable {
        enum Algorithm: String, Sendable, Codable {
            case hs256 = "HS256"
            case es256 = "ES256"
        }

        var kid: String?
        var algorithm: Algorithm
        /// HS256: the shared secret. ES256: the public key in PEM (a private key PEM also works:
        /// its public half is used).
        var material: String
    }

    /// Why a token was refused (the `unauthorized` error's message).
    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    private let collection: JWTKeyCollection
    private let algorithms: [String: Key.Algorithm]
    private let defaultAlgorithm: Key.Algorithm

    private init(collection: JWTKeyCollection, algorithms: [String: Key.Algorithm], defaultAlgorithm: Key.Algorithm) {
        self.collection = collection
        self.algorithms = algorithms
        self.defaultAlgorithm = defaultAlgorithm
    }

    /// The verifier for `keys`. Tokens without `kid` are checked against the one key without a
    /// kid (at most one may lack it), or else the first key.
    static func make(keys: [Key]) async throws -> UserAuth {
        guard let first = keys.first else { throw ConfigurationError("auth needs at least one key") }
        let unnamed = keys.filter { $0.kid == nil }
        guard unnamed.count <= 1 else { throw ConfigurationError("auth: only one key may have no kid (auth.secret is one)") }
        let defaultKey = unnamed.first ?? first
        let collection = JWTKeyCollection()
        var algorithms: [String: Key.Algorithm] = [:]
        for (index, key) in keys.enumerated() {
            let kid = key.kid.map { JWKIdentifier(string: $0) }
            if let name = key.kid {
                guard algorithms[name] == nil else { throw ConfigurationError("auth.keys: kid '\(name)' is given twice") }
                algorithms[name] = key.algorithm
            }
            switch key.algorithm {
            case .hs256:
                if let problem = Self.problem(of: key) { throw ConfigurationError(problem) }
                await collection.add(hmac: HMACKey(from: key.material), digestAlgorithm: .sha256, kid: kid)
            case .es256:
                let publicKey: ES256PublicKey
                do {
                    publicKey =
                        if key.material.contains("PRIVATE KEY") {
                            try ES256PrivateKey(pem: key.material).publicKey
                        } else {
                            try ES256PublicKey(pem: key.material)
                        }
                } catch {
                    throw ConfigurationError("auth key \(key.kid ?? "#\(index)") is not an ES256 (P-256) key in PEM: \(error)")
                }
                await collection.add(ecdsa: publicKey, kid: kid)
            }
        }
        // jwt-kit's default key is the key added without a kid, or else the first one added.
        return UserAuth(collection: collection, algorithms: algorithms, defaultAlgorithm: defaultKey.algorithm)
    }

    /// Why an HS256 key cannot be used: RFC 7518 §3.2 requires at least 256 bits, and jwt-kit
    /// traps on shorter keys.
    static func problem(of key: Key) -> String? {
        guard key.algorithm == .hs256, key.material.utf8.count < 32 else { return nil }
        let name = key.kid.map { "auth key '\($0)'" } ?? "the auth secret"
        return "\(name) must be at least 32 bytes (HS256 needs 256 bits): `chat-node secret` prints one"
    }

    /// The claims of `token` if it is valid now; `user` (already NFC) must be its subject when given.
    func check(token: String?, user: String?) async throws(Refusal) -> UserClaims {
        guard let token, !token.isEmpty else { throw Refusal(description: "this cluster needs a token") }
        guard token.utf8.count <= 8192 else { throw Refusal(description: "the token is too long") }
        guard let header = Self.header(of: token) else { throw Refusal(description: "the token is not a JWT") }
        let expected: Key.Algorithm
        if let kid = header.kid {
            guard let algorithm = algorithms[kid] else { throw Refusal(description: "the token's key id is not one of this cluster's") }
            expected = algorithm
        } else {
            expected = defaultAlgorithm
        }
        guard header.alg == expected.rawValue else {
            throw Refusal(description: "the token is signed with \(header.alg ?? "no algorithm"), its key needs \(expected.rawValue)")
        }
        let claims: UserClaims
        do {
            claims = try await collection.verify(token, as: UserClaims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            throw Refusal(description: "the token has expired")
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw Refusal(description: "the token's signature is not valid")
        } catch {
            throw Refusal(description: "the token is not valid (it needs sub and exp)")
        }
        if let user {
            guard Validation.normalizedUser(claims.sub.value) == user else {
                throw Refusal(description: "the token is for another user")
            }
        }
        return claims
    }

    /// Signs a token (`chat-node token`): with the key `kid` names, or the default key.
    func mint(_ claims: UserClaims, kid: String?) async throws -> String {
        try await collection.sign(claims, kid: kid.map { JWKIdentifier(string: $0) })
    }

    /// The `alg` and `kid` of a token's header, read without trusting them.
    static func header(of token: String) -> (alg: String?, kid: String?)? {
        guard let dot = token.firstIndex(of: "."), let data = Self.base64URL(String(token[..<dot])),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return (object["alg"] as? String, object["kid"] as? String)
    }

    static func base64URL(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
