import ChatCore
import Gossip
import History
import Logging
import NIOCore
import RoomGroup
import Synchronization

/// The cluster's wiring of room groups (groups mode): building them, feeding them gossip's
/// view, routing client requests to a room's leader, and serving other nodes' requests.
extension ChatCluster {
    static func makeGroups(
        configuration: ClusterConfiguration, boot: UInt64, roomConfiguration: RoomStateMachine.Configuration,
        history: any HistoryStore, logger: Logger, loop: any EventLoop, peers: ClusterPeers, now: @Sendable () -> Int64
    ) -> GroupRooms? {
        guard configuration.replicationFactor > 0 else { return nil }
        return GroupRooms(
            me: ReplicaID(node: configuration.nodeID, boot: boot), eventLoop: loop,
            replicationFactor: configuration.replicationFactor, maxRooms: configuration.maxRooms,
            virtualNodes: configuration.virtualNodes,
            configuration: roomConfiguration, history: history, logger: logger, wallClock: now,
            send: { node, packets in peers.link(to: node)?.send(.group(packets)) },
            probe: { node, room, voters in
                guard let link = peers.link(to: node),
                    case .groupProbeReply(_, let answer) = try? await link.request(
                        timeout: .milliseconds(500), { .groupProbe(corr: $0, room: room, voters: voters) })
                else { return nil }
                return answer
            },
            bootOf: { node in peers.boots.withLock { $0[node] } ?? "" })
    }

    /// Rooms this node orders (leads, in groups mode).
    var orderedRooms: Int { groups?.roomCount ?? owner.roomCount }

    /// Runs `body` against the room's leader: the node `GroupRooms.target` names, then the
    /// leader each refusal names (`NotLeaderError`). While the answer is a passing
    /// `unavailable` (a leader is being chosen, a link is being made) it tries again for up to
    /// `routingDeadline`; a lasting one (no reachable majority) fails at once, so that the
    /// client hears it quickly and can try a node on the majority side.
    func routedInGroups<T: Sendable>(_ room: String, _ groups: GroupRooms, _ body: (String) async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + Self.routingDeadline
        var delay: Duration = .milliseconds(10)
        var hint: String?
        var hops = 0
        while true {
            let target: String
            if let hint {
                target = hint
            } else {
                target = try await groups.target(for: room)
            }
            hint = nil
            do {
                let result = try await body(target)
                groups.found(leader: target, of: room)
                return result
            } catch let error as NotLeaderError where ContinuousClock.now + delay < deadline {
                groups.found(leader: error.hint, of: room)
                hint = error.hint
                hops += 1
                // Two replicas that name each other (one of them is behind) are asked again
                // only after a pause.
                if hops > 2 || error.hint == target {
                    try await Task.sleep(for: delay)
                    delay = min(delay * 2, .milliseconds(100))
                }
            } catch let error as ProtocolError
                where error.code == .unavailable && error.passesSoon && ContinuousClock.now + delay < deadline
            {
                groups.found(leader: nil, of: room)
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .milliseconds(100))
            } catch let error as NotLeaderError {
                // Still redirected at the deadline: the leadership is moving; the client retries.
                throw ProtocolError(.unavailable, "the leader of \(room) is moving (last named \(error.hint)); retry")
            }
        }
    }
}

extension GroupRooms {
    /// Gossip's view: the roster is every member that has not left (dead ones included; this
    /// node unless it is leaving), the live set those alive or suspect and not `unreachable`
    /// (their link dropped or went silent).
    func update(known: [GossipMember], me: String, boot: String, unreachable: Set<String>, leaving: Bool) {
        var members: [String] = leaving ? [] : [me]
        var live: Set<String> = [me]
        var boots: [String: UInt64] = [:]
        boots[me] = GroupRoster.boot(boot)
        for member in known where member.id != me {
            guard member.status != .left, let boot = GroupRoster.boot(member.metadata["boot"]) else { continue }
            members.append(member.id)
            boots[member.id] = boot
            if member.status.isActive && !unreachable.contains(member.id) { live.insert(member.id) }
        }
        update(roster: members, live: live, boots: boots)
    }
}

extension ChatCluster {
    /// Where internal links run: on the groups' event loop in groups mode, so that a packet
    /// between a link and the room groups never changes threads (a replication round trip
    /// crossed threads four times otherwise); on the node's group in successor mode.
    var linkLoops: any EventLoopGroup { groups?.hubs.loop ?? group }
}
