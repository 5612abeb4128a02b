import ChatCore
import NIOCore
import RoomGroup
import Testing

@testable import Cluster

@Suite("Internal frames and the link handshake")
struct InternalFrameTests {
    static let message = ChatMessage(room: "r", seq: 7, id: "m\u{0}7", user: "zoë", text: "hi 🎉\n", ts: -5)
    static let snapshot = RoomSnapshot(seq: 9, messages: [message, message], members: ["a", "b"], truncated: true)

    static let frames: [InternalFrame] = [
        .hello(node: "n1", nonce: Array(repeating: 1, count: 32)),
        .challenge(node: "n2", nonce: Array(repeating: 2, count: 32), proof: Array(repeating: 3, count: 32)),
        .proof(Array(repeating: 4, count: 32)),
        .join(corr: 1, room: "r", user: "u", since: nil),
        .join(corr: 2, room: "r", user: "u", since: 0),
        .leave(corr: 3, room: "r", user: "u"),
        .send(corr: 4, room: "r", user: "u", id: "i", text: String(repeating: "x", count: 5000)),
        .history(corr: 5, room: "r", before: 10, since: nil, limit: 50),
        .info(corr: 6, room: "r"),
        .resubscribe(corr: 7, room: "r", since: 3, sessions: [UserSessions(user: "a", count: 2)]),
        .stats(corr: 8),
        .groupProbe(corr: 9, room: "lobby", voters: [ReplicaID(node: "n1", boot: 3), ReplicaID(node: "n2", boot: .max)]),
        .groupProbeReply(corr: 9, .holds),
        .groupProbeReply(corr: 10, .disagrees),
        .joinReply(corr: 9, snapshot: snapshot),
        .sendReply(corr: 10, seq: 11, duplicate: true),
        .messagesReply(corr: 12, snapshot: RoomSnapshot(seq: 0, messages: [], members: [], truncated: false)),
        .ok(corr: 13),
        .error(corr: 14, code: "unavailable", message: "retry"),
        .statsReply(corr: 15, rooms: 3),
        .message(message),
        .presence(PresenceEvent(room: "r", kind: .leave, user: "u", members: 4)),
        .moved(room: "r"),
    ]

    @Test(arguments: frames)
    func roundTrips(frame: InternalFrame) throws {
        var buffer = frame.encoded
        #expect(try InternalFrame.decode(&buffer) == frame)
    }

    @Test func truncatedOrPaddedFramesAreRejected() throws {
        for frame in Self.frames {
            let encoded = frame.encoded
            for cut in [1, encoded.readableBytes / 2, encoded.readableBytes - 1] where cut < encoded.readableBytes && cut > 0 {
                var truncated = encoded.getSlice(at: 0, length: cut)!
                #expect(throws: InternalFrameError.self) { try InternalFrame.decode(&truncated) }
            }
            var padded = encoded
            padded.writeInteger(UInt8(0))
            #expect(throws: InternalFrameError.self) { try InternalFrame.decode(&padded) }
        }
        var unknown = ByteBuffer(bytes: [0xFF])
        #expect(throws: InternalFrameError.self) { try InternalFrame.decode(&unknown) }
    }

    /// Runs a handshake between two state machines and returns whether both sides finished.
    func handshake(clientSecret: String, serverSecret: String) -> (client: Bool, server: Bool) {
        var client = LinkHandshake(role: .client, nodeID: "a", secret: clientSecret)
        var server = LinkHandshake(role: .server, nodeID: "b", secret: serverSecret)
        guard case .send(let challenge) = server.receive(client.hello!) else { return (false, false) }
        guard case .send(let proof) = client.receive(challenge) else { return (client.isEstablished, false) }
        guard case .established(let peer) = server.receive(proof), peer == "a" else { return (client.isEstablished, false) }
        return (client.isEstablished, server.isEstablished)
    }

    @Test func handshakeSucceedsWithTheSameSecret() {
        let result = handshake(clientSecret: "s", serverSecret: "s")
        #expect(result.client && result.server)
    }

    @Test func handshakeFailsOnBothSidesWithAnotherSecret() {
        let result = handshake(clientSecret: "s", serverSecret: "other")
        #expect(!result.client && !result.server)
    }

    @Test func aForgedProofIsRejected() {
        let client = LinkHandshake(role: .client, nodeID: "a", secret: "s")
        var server = LinkHandshake(role: .server, nodeID: "b", secret: "s")
        _ = server.receive(client.hello!)
        #expect(server.receive(.proof(Array(repeating: 0, count: 32))) == .reject("the peer does not hold the cluster secret"))
        var fresh = LinkHandshake(role: .server, nodeID: "b", secret: "s")
        #expect(fresh.receive(.join(corr: 1, room: "r", user: "u", since: nil)) == .reject("unexpected frame during the handshake"))
    }

    @Test func aReplayedChallengeDoesNotFitAnotherNonce() {
        var first = LinkHandshake(role: .client, nodeID: "a", secret: "s")
        var server = LinkHandshake(role: .server, nodeID: "b", secret: "s")
        guard case .send(let challenge) = server.receive(first.hello!) else {
            Issue.record("no challenge")
            return
        }
        _ = first.receive(challenge)
        var second = LinkHandshake(role: .client, nodeID: "a", secret: "s")
        #expect(second.receive(challenge) == .reject("the peer does not hold the cluster secret"))
    }
}
