import ChatCore
import Metrics
import NIOCore
import Ring
import RoomGroup

/// Requests from other nodes, for rooms this node owns.
extension ChatCluster {
    /// Answers the requests that never wait, at once (on the link's event loop): replication from
    /// an owner, a take-over question, room counts. Nil for every other frame.
    func answerInline(_ frame: InternalFrame, from subscriber: RemoteSubscriber) -> InternalFrame? {
        switch frame {
        case .stats(let corr): .statsReply(corr: corr, rooms: UInt64(orderedRooms))
        case .replicate(let corr, let request): .replicateReply(corr: corr, owner.replicate(request, from: subscriber.nodeID))
        case .claim(let corr, let room): .claimReply(corr: corr, owner.answerClaim(room: room, claimer: subscriber.nodeID))
        default: nil
        }
    }

    /// Starts a forwarded send for a room whose group this node has a replica of without a task:
    /// the group answers on its event loop (which runs the links too), and the reply is written
    /// from there. Anything but an ack is turned into its error by the task path.
    func startInline(_ frame: InternalFrame, from subscriber: RemoteSubscriber) -> Bool {
        guard case .send(let corr, let room, let user, let id, let text) = frame, let groups,
            let reply = groups.sendIfHeld(room: room, user: user, id: id, text: text)
        else { return false }
        reply.whenSuccess { [self] answer in
            switch answer {
            case .acked(let seq):
                subscriber.push(.sendReply(corr: corr, seq: seq, duplicate: false))
            case .duplicate(let seq):
                ClusterMetrics.duplicates.increment()
                subscriber.push(.sendReply(corr: corr, seq: seq, duplicate: true))
            default:
                Task {
                    do {
                        throw try await groups.refusal(answer, room: room)
                    } catch {
                        pushError(error, corr: corr, to: subscriber)
                    }
                }
            }
        }
        return true
    }

    /// Answers one request from `subscriber`'s node. A request for a room this node does not own
    /// on its ring is answered `unavailable` (the asking node's ring is ahead or behind; it
    /// retries). Replies that must precede later pushes are written under the owner's lock.
    func serve(_ frame: InternalFrame, from subscriber: RemoteSubscriber) async {
        let corr: UInt64
        let room: String?
        switch frame {
        case .join(let c, let r, _, _), .leave(let c, let r, _), .send(let c, let r, _, _, _), .history(let c, let r, _, _, _),
            .info(let c, let r), .resubscribe(let c, let r, _, _):
            (corr, room) = (c, r)
        case .groupProbe(let c, let r, let voters):
            subscriber.push(.groupProbeReply(corr: c, await groups?.probeAnswer(r, voters: voters) ?? .disagrees))
            return
        case .stats, .replicate, .claim:
            if let reply = answerInline(frame, from: subscriber) { subscriber.push(reply) }
            return
        default:
            return
        }
        // Successor replication serves only the rooms this node owns on its ring; a group's
        // replica that does not lead answers with the leader it knows (`NotLeaderError`).
        if groups == nil, let room, !owner.owns(room) {
            subscriber.push(.error(corr: corr, code: ErrorCode.unavailable.rawValue, message: "\(nodeID) does not own \(room); retry"))
            return
        }
        let rooms = self.rooms
        do {
            switch frame {
            case .join(_, let room, let user, let since):
                try await rooms.join(room: room, user: user, since: since, subscriber: subscriber) { snapshot in
                    subscriber.push(.joinReply(corr: corr, snapshot: snapshot))
                }
            case .leave(_, let room, let user):
                try await rooms.leave(room: room, user: user, node: subscriber.nodeID)
                subscriber.push(.ok(corr: corr))
            case .send(_, let room, let user, let id, let text):
                let ack = try await rooms.send(room: room, user: user, id: id, text: text)
                subscriber.push(.sendReply(corr: corr, seq: ack.seq, duplicate: ack.duplicate))
            case .history(_, let room, let before, let since, let limit):
                let page = try await rooms.messages(room: room, before: before, since: since, limit: Int(limit))
                subscriber.push(.messagesReply(corr: corr, snapshot: page))
            case .info(_, let room):
                subscriber.push(.messagesReply(corr: corr, snapshot: try await rooms.info(room: room)))
            case .resubscribe(_, let room, let since, let sessions):
                try await rooms.resubscribe(room: room, since: since, sessions: sessions, subscriber: subscriber) { snapshot in
                    subscriber.push(.messagesReply(corr: corr, snapshot: snapshot))
                }
            default:
                break
            }
        } catch {
            pushError(error, corr: corr, to: subscriber)
        }
    }

    /// The error frame that answers request `corr` for `error`.
    func pushError(_ error: any Error, corr: UInt64, to subscriber: RemoteSubscriber) {
        switch error {
        case let error as NotLeaderError:
            subscriber.push(.error(corr: corr, code: NotLeaderError.code, message: error.hint))
        case let error as ProtocolError:
            let code = error.code == .unavailable && !error.passesSoon ? ChatCluster.lastingUnavailable : error.code.rawValue
            subscriber.push(.error(corr: corr, code: code, message: error.message))
        default:
            subscriber.push(.error(corr: corr, code: ErrorCode.internal.rawValue, message: "\(error)"))
        }
    }

    /// Whatever orders rooms here (see `RoomOrdering`).
    var rooms: any RoomOrdering { groups ?? owner }
}
