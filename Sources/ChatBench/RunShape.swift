/// The shape of one run: how many rooms, members and senders, and where each connection goes.
///
/// Connections are numbered `0..<connectionCount`; connection `c` is member `c % members` of room
/// `c / members`, and connects to endpoint `c % endpointCount`, so consecutive members of a room sit
/// on different nodes (senders and receivers are spread over every node). The first
/// `sendersPerRoom` members of each room also send; sender `s` (global index) is member
/// `s % sendersPerRoom` of room `s / sendersPerRoom`.
struct RunShape: Sendable, Hashable {
    var rooms: Int
    var members: Int
    var sendersPerRoom: Int
    var endpointCount: Int

    /// Checks the numbers; the message says what is wrong, for the command line.
    init(rooms: Int, members: Int, sendersPerRoom: Int, endpointCount: Int) throws(BenchError) {
        guard rooms >= 1 else { throw BenchError("--rooms must be at least 1") }
        guard members >= 1 else { throw BenchError("--members must be at least 1") }
        guard (0...members).contains(sendersPerRoom) else {
            throw BenchError("--senders (per room) must be between 0 and --members (\(members))")
        }
        guard endpointCount >= 1 else { throw BenchError("give at least one --url") }
        guard rooms * members <= 1_000_000 else { throw BenchError("at most 1,000,000 connections") }
        self.rooms = rooms
        self.members = members
        self.sendersPerRoom = sendersPerRoom
        self.endpointCount = endpointCount
    }

    var connectionCount: Int { rooms * members }
    var senderCount: Int { rooms * sendersPerRoom }

    func room(ofConnection connection: Int) -> Int { connection / members }
    func endpoint(ofConnection connection: Int) -> Int { connection % endpointCount }

    /// The global sender index of a connection, or nil if it only receives.
    func sender(ofConnection connection: Int) -> Int? {
        let member = connection % members
        guard member < sendersPerRoom else { return nil }
        return room(ofConnection: connection) * sendersPerRoom + member
    }

    func connection(ofSender sender: Int) -> Int {
        (sender / sendersPerRoom) * members + sender % sendersPerRoom
    }

    func room(ofSender sender: Int) -> Int { sender / sendersPerRoom }

    /// How many connections go to each endpoint.
    var connectionsPerEndpoint: [Int] {
        (0..<endpointCount).map { endpoint in
            (connectionCount - endpoint + endpointCount - 1) / endpointCount
        }
    }
}
