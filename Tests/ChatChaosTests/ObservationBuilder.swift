@testable import ChatChaos

/// Builds observation logs for the checker tests: a clean run by default, which each test then
/// breaks in one way.
struct ObservationBuilder {
    var clients: [ClientObservations] = []
    var history: [String: [HistoryEntry]] = [:]
    var faults: [FaultOutcome] = []
    var historyLimit = 1000

    /// Two users in one room, each sending `count` messages alternately (one a second from 0 s);
    /// every message acked 0.1 s after its send, delivered live to both in seq order on their one
    /// connection (joined at -1.8 s with seq 0, open until the observation at 2 * count + 5 s),
    /// and in history.
    static func clean(room: String = "r", count: Int = 4) -> ObservationBuilder {
        var builder = ObservationBuilder()
        let users = ["alice", "bob"]
        var deliveries: [Delivery] = []
        var sends: [String: [SendObservation]] = [:]
        for index in 0..<count * 2 {
            let user = users[index % 2]
            let seq = UInt64(index + 1)
            let id = "\(user)-\(index / 2 + 1)"
            let at = Double(index)
            sends[user, default: []].append(
                SendObservation(
                    room: room, id: id, user: user, firstSentAt: at, firstAttemptAt: at, attempts: 1,
                    acks: [AckObservation(seq: seq, at: at + 0.1, attemptAt: at)]))
            deliveries.append(Delivery(seq: seq, id: id, user: user, kind: .live, at: at + 0.05))
            builder.history[room, default: []].append(HistoryEntry(seq: seq, id: id, user: user))
        }
        builder.clients = users.enumerated().map { index, user in
            var span = ConnectionSpan(generation: 1, node: index, nodeName: "n\(index + 1)", startedAt: -2, connectedAt: -1.9)
            span.joins[room] = ConnectionSpan.Join(since: 0, sentAt: -1.9, answeredAt: -1.8, seq: 0)
            return ClientObservations(
                user: user, rooms: [room], joinedAtEnd: true, sends: sends[user] ?? [],
                streams: [RoomStream(user: user, room: room, deliveries: deliveries)], errorsByCode: [:], reconnects: 0,
                spans: [span], observedAt: Double(2 * count + 5))
        }
        return builder
    }

    var observations: ChaosObservations {
        ChaosObservations(
            clients: clients, history: history, historyUnavailable: [], faults: faults, historyLimit: historyLimit,
            nodeNames: ["n1", "n2", "n3"])
    }

    mutating func editStream(client: Int, _ edit: (inout [Delivery]) -> Void) {
        edit(&clients[client].streams[0].deliveries)
    }

    /// Client `client`'s connection closes at `closedAt` and a second one (generation 2, on
    /// node `node`) joins at `rejoinAt` with `since` = the highest seq delivered before, answered
    /// `joinedSeq` and the seqs of `history` (resume entries); deliveries after `rejoinAt` move
    /// to generation 2.
    mutating func reconnect(
        client: Int, closedAt: Double, rejoinAt: Double, node: Int = 2, joinedSeq: UInt64, history: [UInt64], truncated: Bool = false
    ) {
        clients[client].spans[0].closedAt = closedAt
        let before = clients[client].streams[0].deliveries.filter { $0.at < closedAt }
        let since = before.map(\.seq).max() ?? 0
        var span = ConnectionSpan(
            generation: 2, node: node, nodeName: "n\(node + 1)", startedAt: closedAt + 0.1, connectedAt: rejoinAt - 0.1)
        span.joins["r"] = ConnectionSpan.Join(
            since: since, sentAt: rejoinAt - 0.1, answeredAt: rejoinAt, seq: joinedSeq, truncated: truncated)
        clients[client].spans.append(span)
        clients[client].reconnects += 1
        let all = self.history["r"] ?? []
        let resume = history.map { seq in
            let entry = all.first { $0.seq == seq } ?? HistoryEntry(seq: seq, id: "x-\(seq)", user: "x")
            return Delivery(seq: seq, id: entry.id, user: entry.user, kind: .resume, at: rejoinAt, generation: 2)
        }
        let after = clients[client].streams[0].deliveries.filter { $0.at >= rejoinAt }.map { delivery in
            var moved = delivery
            moved.generation = 2
            return moved
        }
        clients[client].streams[0].deliveries = before + resume + after
    }
}
