import Cluster
import Crypto
import Foundation

/// Which secrets a node accepts (issue 11 §6): on loopback anything goes (local experiments and
/// the example cluster); as soon as any listener binds another address, the cluster secret (which
/// authenticates gossip and internal links, and from which the admin token is derived) and the
/// user-token secret must be at least 32 bytes, and neither may be the built-in development
/// secret or the one printed in `cluster.example.json`. `chat-node secret` prints a good one.
enum SecretPolicy {
    static let minimumBytes = 32

    /// Secrets that are public: the built-in default and the example file's.
    static let published: Set<String> = [ClusterFile.developmentSecret, "change-me-local-demo-secret"]

    /// Why `configuration` may not start with its secrets, or nil.
    static func problem(_ configuration: NodeConfiguration, addresses: NodeAddresses) -> String? {
        let binds = [addresses.client.bind, addresses.links.bind, addresses.gossip.bind]
        guard let exposed = binds.first(where: { !NodeAddresses.isLoopback($0) }) else { return nil }
        let secrets =
            [("the cluster secret (\"secret\", --secret)", configuration.secret)]
            + (configuration.authSecret.map { [("the auth secret (\"auth.secret\", --auth-secret)", $0)] } ?? [])
            + configuration.authKeys.filter { $0.algorithm == .hs256 }.map { ("the auth key '\($0.kid ?? "")'", $0.material) }
        for (name, secret) in secrets {
            let why: String? =
                if published.contains(secret) {
                    "is the published example"
                } else if secret.utf8.count < minimumBytes {
                    "is shorter than \(minimumBytes) bytes"
                } else {
                    nil
                }
            if let why {
                let place = NodeAddresses.isWildcard(exposed) ? "every interface" : exposed
                return "\(name) \(why), and this node listens on \(place): run `chat-node secret` for a new one"
            }
        }
        return nil
    }

    /// A new random secret: 32 bytes from the system's secure generator, base64url (43 characters).
    static func generate() -> String {
        Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
