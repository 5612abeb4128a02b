import Foundation
import Testing

@testable import ChatChaos

@Suite struct ReportTests {
    func report(_ builder: ObservationBuilder) -> ChaosReport {
        let setup = ChaosReport.Setup(
            nodes: 3, clients: 2, rooms: 1, durationSeconds: 10, seed: 1, faultsPerKind: 1, history: "redis", nodeBinary: "x",
            workDir: "/tmp", faultsPossible: true)
        let result = InvariantChecker().check(builder.observations)
        return ChaosReport(setup: setup, elapsed: 12, planned: 3, outcomes: builder.faults, result: result, kinds: FaultKind.processKinds)
    }

    @Test func jsonLineCarriesTheHeadlineCounters() throws {
        var builder = ObservationBuilder.clean()
        builder.history["r"]!.removeLast()
        let line = report(builder).jsonLine
        #expect(!line.contains("\n"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(json["lost_acked"] as? Int == 1)
        #expect(json["duplicates"] as? Int == 0)
        #expect(json["order_violations"] as? Int == 0)
        #expect(json["passed"] as? Bool == false)
        #expect((json["faults_injected"] as? [String: Int]) == ["kill": 0, "term": 0, "pause": 0])
        #expect(json["sent"] as? Int == 8)
    }

    @Test func tableSaysPassOrFail() {
        #expect(report(.clean()).table.contains("PASS"))
        var broken = ObservationBuilder.clean()
        broken.editStream(client: 0) { $0.swapAt(0, 1) }
        #expect(report(broken).table.contains("order_violations          1   <-- VIOLATION"))
    }

    @Test func everyKindIsCountedInTheJSONWithDetailsAndTheFaultBreakdown() throws {
        var builder = ObservationBuilder.clean()
        builder.editStream(client: 0) { $0.remove(at: 2) }
        let line = report(builder).jsonLine
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let violations = try #require(json["violations"] as? [String: Int])
        #expect(Set(violations.keys) == Set(ViolationKind.allCases.map(\.rawValue)))
        #expect(violations["gaps_on_live_connections"] == 1 && json["gaps_on_live_connections"] as? Int == 1)
        for name in ["resume_gaps", "lost_acked", "seq_conflicts", "message_two_seqs", "id_two_seqs", "unanswered_sends"] {
            #expect(violations[name] == 0, "\(name)")
        }
        let byFault = try #require(json["violations_by_fault"] as? [String: [String: Int]])
        #expect(byFault == ["none": ["gaps_on_live_connections": 1, "unfilled_gaps": 1, "missed_deliveries": 1]])
        let details = try #require(json["details"] as? [String: [String]])
        #expect(details["gaps_on_live_connections"]?.first?.contains("seqs 3–3") == true)
        #expect(report(builder).table.contains("violations by the fault before them:"))
    }

    @Test func httpParsingHandlesLengthAndChunked() throws {
        let plain = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".utf8)
        #expect(try LoopbackIO.parse(plain).body == Array("hi".utf8))
        let chunked = Array("HTTP/1.1 503 X\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n".utf8)
        let response = try LoopbackIO.parse(chunked)
        #expect(response.status == 503 && response.body == Array("abcde".utf8))
    }

    @Test func endpointParsing() {
        #expect(Endpoint(url: "http://127.0.0.1:8081") == Endpoint(host: "127.0.0.1", port: 8081))
        #expect(Endpoint(url: "ws://h:9/ws") == Endpoint(host: "h", port: 9))
        #expect(Endpoint(url: "nope") == nil)
    }
}
