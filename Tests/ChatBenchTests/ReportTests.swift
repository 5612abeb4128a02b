import Foundation
import Testing

@testable import ChatBench

@Suite("Reports and the rate search")
struct ReportTests {
    @Test("the rate search grows until a failure, then bisects to the resolution")
    func search() throws {
        var search = try RateSearch(start: 100, growth: 2, maximum: 100_000, resolution: 0.05, maxSteps: 20)
        let capacity = 1000.0
        var rates: [Double] = []
        while let rate = search.nextRate {
            rates.append(rate)
            search.record(rate: rate, passed: rate <= capacity)
        }
        #expect(Array(rates.prefix(5)) == [100, 200, 400, 800, 1600])
        let best = try #require(search.best)
        #expect(best <= capacity && best >= capacity * 0.95)
        #expect(rates.count < 20)
    }

    @Test("the search stops at the maximum when everything passes, and reports none when nothing does")
    func edges() throws {
        var all = try RateSearch(start: 100, growth: 10, maximum: 5000, maxSteps: 10)
        while let rate = all.nextRate { all.record(rate: rate, passed: true) }
        #expect(all.best == 5000)
        var none = try RateSearch(start: 100, maxSteps: 30)
        while let rate = none.nextRate { none.record(rate: rate, passed: false) }
        #expect(none.best == nil)
        #expect(none.steps < 30)
    }

    @Test("a step passes only if correct, under the target and at the rate asked")
    func passes() {
        #expect(RateSearch.passes(correct: true, p99: 10, target: 50, rate: 1000, achieved: 990))
        #expect(!RateSearch.passes(correct: false, p99: 10, target: 50, rate: 1000, achieved: 1000))
        #expect(!RateSearch.passes(correct: true, p99: 50, target: 50, rate: 1000, achieved: 1000))
        #expect(!RateSearch.passes(correct: true, p99: 10, target: 50, rate: 1000, achieved: 900))
    }

    @Test("JSON keeps key order and escapes strings")
    func json() {
        let value = BenchJSON.object([
            ("b", .int(2)), ("a", .string("x\"y\n")), ("n", .number(1.23456)), ("w", .number(3)), ("z", .null),
            ("l", .array([.bool(true), .number(.nan)])),
        ])
        #expect(value.rendered == #"{"b":2,"a":"x\"y\n","n":1.235,"w":3,"z":null,"l":[true,null]}"#)
    }

    @Test("tables align and numbers are grouped")
    func table() {
        var table = TextTable(["name", "value"])
        table.add(["a", "1"])
        table.add(["longer", "12,345"])
        #expect(table.rendered == "name     value\n------  ------\na            1\nlonger  12,345")
        #expect(TextTable.grouped(1_234_567) == "1,234,567")
        #expect(TextTable.fixed(2.005, 2) == "2.01" || TextTable.fixed(2.005, 2) == "2.00")
        #expect(TextTable.fixed(1234.5, 1) == "1,234.5")
        #expect(TextTable.fixed(-0.25, 2) == "-0.25")
    }

    @Test("VmRSS is read from a status file")
    func memory() {
        let status = "Name:\tchat-node\nVmPeak:\t  999 kB\nVmRSS:\t   34567 kB\nThreads:\t4\n"
        #expect(ProcessMemory.residentKilobytes(status: status) == 34_567)
        #expect(ProcessMemory.residentKilobytes(status: "Name: x\n") == nil)
        #expect(ProcessMemory.ownResidentKilobytes.map { $0 > 0 } == true)
    }

    @Test("CPU time is read from a stat line, even with a strange command name")
    func cpu() {
        let stat = "1234 (chat (node) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 100 1000 200"
        #expect(ProcessCPU.seconds(stat: stat, ticksPerSecond: 100) == 3.0)
        #expect(ProcessCPU.seconds(stat: "garbage", ticksPerSecond: 100) == nil)
        #expect(ProcessCPU.seconds(pid: getpid()) != nil)
    }

    @Test("the broadcast server's listening line gives its port")
    func listeningLine() {
        #expect(BroadcastServerCommand.port(fromListeningLine: "chat-bench broadcast-server listening on ws://127.0.0.1:4321/ws") == 4321)
        #expect(BroadcastServerCommand.port(fromListeningLine: "something else") == nil)
    }

    @Test("latency summaries are read in milliseconds")
    func latency() {
        var histogram = LatencySummary.makeHistogram()
        for micros in 1...1000 { LatencySummary.record(nanoseconds: UInt64(micros) * 1000, into: &histogram) }
        let summary = LatencySummary(histogram)
        #expect(summary.count == 1000)
        #expect(abs(summary.p50 - 0.5) < 0.01)
        #expect(abs(summary.p99 - 0.99) < 0.01)
        #expect(abs(summary.max - 1.0) < 0.01)
        #expect(LatencySummary(LatencySummary.makeHistogram()) == .empty)
    }
}
