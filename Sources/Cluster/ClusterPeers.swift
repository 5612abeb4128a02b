import ChatCore
import Synchronization

/// This node's links to the other members, and `RoomPeers` over them: replication and take-over
/// questions go to the peer as requests on its link (answered within the link's request timeout).
final class ClusterPeers: RoomPeers {
    let links = Mutex<[String: PeerLink]>([:])
    /// The boot id of each member's current process, from gossip.
    let boots = Mutex<[String: String]>([:])

    func link(to node: String) -> PeerLink? {
        links.withLock { $0[node] }
    }

    func replicate(_ request: ReplicationRequest, to node: String) async throws -> ReplicationReply {
        guard let link = link(to: node) else { throw ProtocolError(.unavailable, "no link to \(node)") }
        let reply = try await link.request { .replicate(corr: $0, request) }
        guard case .replicateReply(_, let answer) = reply else { throw ProtocolError(.internal, "unexpected reply from \(node)") }
        return answer
    }

    func claim(room: String, from node: String) async -> ClaimResolver.Answer {
        guard let link = link(to: node), case .claimReply(_, let answer)? = try? await link.request({ .claim(corr: $0, room: room) })
        else { return .unreachable }
        return answer
    }
}
