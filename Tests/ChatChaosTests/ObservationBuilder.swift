@testable import ChatChaos

/// Builds observation logs for the checker tests: a clean run by default, which each test then
/// breaks in one way.
struct ObservationBuilder {
    var clients: [ClientObservations] = []
    var history: [String: [HistoryEntry]] = [:]
    var faults: [FaultOutcome] = []

    /// Two users in one room, each sending `count` messages alternately; every message acked,
    /// delivered live to both in seq order, and in history.
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
                    room: room, id: id, user: user, firstSentAt: at, attempts: 1,
                    acks: [AckObservation(seq: seq, at: at + 0.1, attemptAt: at)]))
            deliveries.append(Delivery(seq: seq, id: id, user: user, kind: .live, at: at + 0.05))
            builder.history[room, default: []].append(HistoryEntry(seq: seq, id: id, user: user))
        }
        builder.clients = users.map { user in
            ClientObservations(
                user: user, rooms: [room], joinedAtEnd: true, sends: sends[user] ?? [],
                streams: [RoomStream(user: user, room: room, deliveries: deliveries)], errorsByCode: [:], reconnects: 0)
        }
        return builder
    }

    var observations: ChaosObservations {
        ChaosObservations(clients: clients, history: history, historyUnavailable: [], faults: faults, historyLimit: 1000)
    }

    mutating func editStream(client: Int, _ edit: (inout [Delivery]) -> Void) {
        edit(&clients[client].streams[0].deliveries)
    }
}
