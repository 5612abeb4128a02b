import Crypto
import Foundation

/// HMAC tokens: base64url (no padding) of HMAC-SHA256(key: secret, message: subject). The admin
/// token (`AdminToken`) is one; user tokens are JWTs (`UserAuth`).
///
/// Whoever holds the secret (the operator, or a login service in front of the cluster) mints a
/// token per user; every node checks it without shared state. Comparison is constant-time.
struct AuthTokens: Sendable {
    private let key: SymmetricKey

    init(secret: String) {
        key = SymmetricKey(data: Data(secret.utf8))
    }

    func token(for user: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(user.utf8), using: key)
        return Data(mac).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    func isValid(token: String?, for user: String) -> Bool {
        guard let token else { return false }
        let expected = Array(self.token(for: user).utf8)
        let given = Array(token.utf8)
        guard expected.count == given.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(expected, given) { difference |= a ^ b }
        return difference == 0
    }
}
