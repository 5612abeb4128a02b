import Testing

@testable import ChatBench

@Suite("RunShape and settings")
struct RunShapeTests {
    @Test("members go round-robin over the endpoints, senders are the first members of each room")
    func spread() throws {
        let shape = try RunShape(rooms: 4, members: 50, sendersPerRoom: 5, endpointCount: 3)
        #expect(shape.connectionCount == 200 && shape.senderCount == 20)
        #expect(shape.connectionsPerEndpoint == [67, 67, 66])
        // Each room's senders sit on several nodes, and each room has members on every node.
        for room in 0..<4 {
            let senderNodes = Set((0..<5).map { shape.endpoint(ofConnection: room * 50 + $0) })
            #expect(senderNodes.count == 3)
            let memberNodes = Set((0..<50).map { shape.endpoint(ofConnection: room * 50 + $0) })
            #expect(memberNodes.count == 3)
        }
        for sender in 0..<20 {
            let connection = shape.connection(ofSender: sender)
            #expect(shape.sender(ofConnection: connection) == sender)
            #expect(shape.room(ofConnection: connection) == shape.room(ofSender: sender))
        }
        #expect(shape.sender(ofConnection: 5) == nil)
        #expect(shape.sender(ofConnection: 50) == 5)
    }

    @Test("bad shapes are refused with a reason")
    func refused() {
        #expect(throws: BenchError("--senders (per room) must be between 0 and --members (3)")) {
            try RunShape(rooms: 1, members: 3, sendersPerRoom: 4, endpointCount: 1)
        }
        #expect(throws: BenchError.self) { try RunShape(rooms: 0, members: 3, sendersPerRoom: 1, endpointCount: 1) }
        #expect(throws: BenchError.self) { try RunShape(rooms: 1, members: 3, sendersPerRoom: 1, endpointCount: 0) }
    }

    @Test("URLs parse into endpoints")
    func endpoints() {
        #expect(BenchEndpoint(url: "ws://127.0.0.1:8081") == BenchEndpoint(host: "127.0.0.1", port: 8081, path: "/ws"))
        #expect(BenchEndpoint(url: "ws://localhost:9/ws") == BenchEndpoint(host: "localhost", port: 9, path: "/ws"))
        #expect(BenchEndpoint(url: "ws://[::1]:80/x") == BenchEndpoint(host: "::1", port: 80, path: "/x"))
        #expect(BenchEndpoint(url: "ws://h")?.port == 80)
        for bad in ["http://h:1", "ws://:1", "ws://h:0", "ws://h:70000", "ws://h:x", "wss://h:1"] {
            #expect(BenchEndpoint(url: bad) == nil, "\(bad)")
        }
        #expect(BenchEndpoint(host: "127.0.0.1", port: 8081).description == "ws://127.0.0.1:8081/ws")
    }

    @Test("settings validate every option")
    func settings() throws {
        func make(
            urls: [String] = ["ws://127.0.0.1:1"], textBytes: Int = 64, duration: Double = 1, compare: Bool = false
        )
            throws(BenchError) -> LoadSettings
        {
            try LoadSettings(
                urls: urls, rooms: 4, members: 50, sendersPerRoom: 5, duration: duration, textBytes: textBytes, loops: 1,
                drain: 1, settle: 0, connectConcurrency: 8, compareBroadcast: compare)
        }
        #expect(try make().endpoints.count == 1)
        #expect(try make(urls: [], compare: true).endpoints.isEmpty)
        #expect(throws: BenchError.self) { try make(urls: []) }
        #expect(throws: BenchError.self) { try make(urls: ["http://x:1"]) }
        #expect(throws: BenchError.self) { try make(textBytes: 10) }
        #expect(throws: BenchError.self) { try make(duration: 0) }
        let plan = try make().plan(mode: .closedLoop(inFlight: 4), endpointCount: 1)
        #expect(plan.inFlightLimit == 4 && plan.rate == nil)
        #expect(plan.roomName(3).hasSuffix("-r3") && plan.userName(199).utf8.count <= 32)
    }
}
