import ChatCore
import NIOCore
import Synchronization
import Testing

@testable import Cluster

@Suite("ClientConnection: direct writes, one flush per tick, slow clients cut off")
struct ClientConnectionTests {
    @Test func framesWrittenInOneTickShareOneFlush() async throws {
        let transport = RecordingTransport()
        let connection = ClientConnection(id: 1, session: "s", format: .json, capacity: 8, transport: transport)
        try await transport.eventLoop.submit {
            for i in 0..<100 { connection.writeOnLoop(ByteBuffer(string: "\(i)")) }
        }.get()
        try await transport.eventLoop.submit {}.get()
        #expect(transport.written.count == 100)
        #expect(transport.flushCount == 1, "100 frames in one tick, one flush")
    }

    @Test func framesFromAnotherThreadKeepTheirOrder() async throws {
        let transport = RecordingTransport()
        let connection = ClientConnection(id: 1, session: "s", format: .json, capacity: 8, transport: transport)
        for i in 0..<500 { connection.enqueue(ByteBuffer(string: "\(i)")) }
        try await transport.eventLoop.submit {}.get()
        #expect(transport.written.map { String(buffer: $0) } == (0..<500).map(String.init))
    }

    @Test func aClientThatStopsReadingIsCutOffPastCapacityFramesAndTheByteSlack() async throws {
        let transport = RecordingTransport()
        let connection = ClientConnection(id: 1, session: "s", format: .json, capacity: 8, transport: transport)
        transport.writable.store(false, ordering: .relaxed)
        let frame = ByteBuffer(repeating: 0x78, count: 64 * 1024)
        try await transport.eventLoop.submit {
            for _ in 0..<8 { connection.writeOnLoop(ByteBuffer(string: "small")) }
            for _ in 0..<40 { connection.writeOnLoop(frame) }
        }.get()
        // The large frames that fit in the slack after the small ones; the next one is refused.
        let slackFrames = (ClientConnection.slackBytes - 8 * 5) / frame.readableBytes
        #expect(transport.written.count == 8 + slackFrames, "capacity frames and the byte slack, then nothing")
        #expect(transport.wasCutOff)
        #expect(connection.overflowed)
    }

    @Test func manySmallFramesAloneDoNotCutAClientOff() async throws {
        let transport = RecordingTransport()
        let connection = ClientConnection(id: 1, session: "s", format: .json, capacity: 8, transport: transport)
        transport.writable.store(false, ordering: .relaxed)
        try await transport.eventLoop.submit {
            for _ in 0..<100 { connection.writeOnLoop(ByteBuffer(string: "small")) }
        }.get()
        #expect(!connection.overflowed, "500 bytes behind is not a slow consumer")
    }

    @Test func aClientThatCatchesUpIsNotCutOff() async throws {
        let transport = RecordingTransport()
        let connection = ClientConnection(id: 1, session: "s", format: .json, capacity: 8, transport: transport)
        try await transport.eventLoop.submit {
            for i in 0..<40 {
                transport.writable.store(i % 8 != 7, ordering: .relaxed)
                connection.writeOnLoop(ByteBuffer(string: "\(i)"))
            }
        }.get()
        #expect(!connection.overflowed)
        #expect(transport.written.count == 40)
    }

    @Test func nothingIsWrittenAfterFinish() async throws {
        let transport = RecordingTransport()
        let connection = ClientConnection(id: 1, session: "s", format: .json, capacity: 8, transport: transport)
        connection.finish()
        connection.enqueue(ByteBuffer(string: "late"))
        try await transport.eventLoop.submit {}.get()
        #expect(transport.written.isEmpty)
    }
}
