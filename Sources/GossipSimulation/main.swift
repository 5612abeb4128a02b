// gossip-sim: the SWIM state machine with DEFAULT settings on a simulated LAN, many seeds.
//
//   swift run -c release --scratch-path .build-gossip-release gossip-sim [--quick] [--seeds N]
//       [--sizes 5,10,20,50,100] [--loss 0,0.1] [--fp-minutes 30] [--fp-sizes 5,10,20,50,100] [--fp-seed 77]
//
// Prints a human table and one JSON line (for BENCHMARKS.md).
import Gossip

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct Options {
    var sizes = [5, 10, 20, 50, 100]
    var seeds = 40
    var fpMinutes = 30.0
    var fpSizes = [5, 10, 20, 50, 100]
    var loss = [0.0, 0.1]
    var fpSeed: UInt64 = 77

    init(_ args: [String]) {
        var i = 1
        func value() -> String {
            i += 1
            return i < args.count ? args[i] : ""
        }
        while i < args.count {
            switch args[i] {
            case "--quick":
                seeds = 8
                fpMinutes = 3
                fpSizes = [10, 50]
            case "--seeds": seeds = Int(value()) ?? seeds
            case "--sizes": sizes = value().split(separator: ",").compactMap { Int($0) }
            case "--fp-minutes": fpMinutes = Double(value()) ?? fpMinutes
            case "--fp-sizes": fpSizes = value().split(separator: ",").compactMap { Int($0) }
            case "--loss": loss = value().split(separator: ",").compactMap { Double($0) }
            case "--fp-seed": fpSeed = UInt64(value()) ?? fpSeed
            default: print("unknown option \(args[i])")
            }
            i += 1
        }
    }
}

let options = Options(CommandLine.arguments)
let settings = SWIMSettings()
let periodMs = Double(settings.protocolPeriod.components.attoseconds) / 1e15 + Double(settings.protocolPeriod.components.seconds) * 1000

func ms(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

func fmt(_ v: Double, _ digits: Int = 0) -> String {
    if v.isNaN { return "-" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (v * scale).rounded()
    let negative = r < 0
    let whole = Int(abs(r)) / Int(scale)
    let frac = Int(abs(r)) % Int(scale)
    var s = (negative && r != 0 ? "-" : "") + "\(whole)"
    if digits > 0 {
        let f = String(frac)
        s += "." + String(repeating: "0", count: digits - f.count) + f
    }
    return s
}

func wallClock() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A cluster of n nodes that all join through n0, run until everyone sees everyone alive.
func formCluster(n: Int, loss: Double, seed: UInt64) -> (SWIMSimulation, Double?) {
    var config = SWIMSimulation.Configuration()
    config.loss = loss
    config.seed = seed
    let sim = SWIMSimulation(configuration: config)
    for i in 0..<n {
        sim.addNode(id: "n\(i)", seeds: i == 0 ? [] : ["n0"])
        sim.run(for: .milliseconds(3))
    }
    let start = SWIMInstant.zero
    let done = sim.run(checkEvery: .milliseconds(50), timeout: .seconds(120)) { $0.runningNodesConverged }
    sim.run(for: .seconds(3))
    return (sim, done.map { ms($0 - start) })
}

struct Row {
    var n: Int
    var loss: Double
    var formation: [Double] = []
    var join: [Double] = []
    var death: [Double] = []
    var leave: [Double] = []
    var failures = 0
}

var rows: [Row] = []
var jsonParts: [String] = []
let started = wallClock()

print(
    "gossip-sim: SWIM with default settings (period \(fmt(periodMs)) ms, probe timeout \(fmt(ms(settings.probeTimeout))) ms, k=\(settings.indirectProbes), fan-out \(settings.gossipFanout), λ=\(settings.retransmitMultiplier), suspicion α=\(settings.suspicionMinMultiplier) β=\(settings.suspicionMaxMultiplier) K=\(settings.expectedConfirmations))"
)
print("network: latency 0.1 ms + exp(0.4 ms), independent loss; \(options.seeds) seeds per cell\n")

for n in options.sizes {
    for loss in options.loss {
        var row = Row(n: n, loss: loss)
        let seedCount = n >= 100 ? max(4, options.seeds / 4) : (n >= 50 ? max(4, options.seeds / 2) : options.seeds)
        for s in 0..<seedCount {
            let seed = UInt64(n * 1000 + Int(loss * 100) * 100_000 + s + 1)
            let (sim, formed) = formCluster(n: n, loss: loss, seed: seed)
            guard let formed else {
                row.failures += 1
                continue
            }
            row.formation.append(formed)
            // A join: known by all, and the joiner knows all.
            let joinStart = sim.now
            sim.addNode(id: "joiner", seeds: ["n\(s % n)"])
            let joined = sim.run(checkEvery: .milliseconds(10), timeout: .seconds(30)) { sim in
                sim.allRunning(see: "joiner", as: .alive)
                    && sim.runningIDs.allSatisfy { $0 == "joiner" || sim.status(of: $0, at: "joiner") == .alive }
            }
            if let joined { row.join.append(ms(joined - joinStart)) } else { row.failures += 1 }
            sim.run(for: .seconds(2))
            // A crash: known dead by every live member.
            let victim = "n\((s * 7 + 1) % n)"
            let deathStart = sim.now
            sim.kill(victim)
            let dead = sim.run(checkEvery: .milliseconds(10), timeout: .seconds(30)) { $0.allRunning(see: victim, as: .dead) }
            if let dead { row.death.append(ms(dead - deathStart)) } else { row.failures += 1 }
            sim.run(for: .seconds(2))
            // A graceful leave: known as left by every live member.
            let leaver = "n\((s * 7 + 2) % n)"
            if leaver != victim {
                let leaveStart = sim.now
                sim.leave(leaver)
                let left = sim.run(checkEvery: .milliseconds(10), timeout: .seconds(30)) { $0.allRunning(see: leaver, as: .left) }
                if let left { row.leave.append(ms(left - leaveStart)) } else { row.failures += 1 }
            }
            if !sim.falseDeaths.isEmpty {
                row.failures += 1
                print(
                    "  !! N=\(n) loss=\(loss) seed=\(seed): false deaths \(sim.falseDeaths.prefix(3).map { "\($0.observer)->\($0.subject)@\($0.at)" })"
                )
            }
        }
        rows.append(row)
        print(
            "N=\(n) loss=\(Int(loss * 100))%: join p50 \(fmt(percentile(row.join, 50))) p99 \(fmt(percentile(row.join, 99))) ms | death p50 \(fmt(percentile(row.death, 50))) p99 \(fmt(percentile(row.death, 99))) ms | leave p50 \(fmt(percentile(row.leave, 50))) p99 \(fmt(percentile(row.leave, 99))) ms | formation p50 \(fmt(percentile(row.formation, 50))) ms | failures \(row.failures)  [\(fmt(wallClock() - started, 1)) s]"
        )
    }
}

// False positives over a long run at 10 % loss, and the message budget.
struct LongRun {
    var n: Int
    var minutes: Double
    var falseDeaths: Int
    var suspicions: UInt64
    var refutations: UInt64
    var messagesPerNodePerPeriod: Double
    var messagesPerNodePerPeriodNoLoss: Double
    var largestDatagram: Int
}
var longRuns: [LongRun] = []
for n in options.fpSizes {
    let (sim, formed) = formCluster(n: n, loss: 0.1, seed: options.fpSeed + UInt64(n))
    guard formed != nil else {
        print("N=\(n): cluster did not form")
        continue
    }
    let sentBefore = sim.datagramsSent
    let suspicionsBefore = sim.nodeIDs.reduce(UInt64(0)) { $0 + sim.instance($1).stats.suspicions }
    let refutationsBefore = sim.nodeIDs.reduce(UInt64(0)) { $0 + sim.instance($1).stats.refutations }
    let duration = Duration.milliseconds(Int64(options.fpMinutes * 60_000))
    sim.run(for: duration)
    let periods = ms(duration) / periodMs
    // The same cluster size without loss, one simulated minute: the steady-state cost.
    let (quiet, _) = formCluster(n: n, loss: 0, seed: UInt64(78 + n))
    let quietBefore = quiet.datagramsSent
    quiet.run(for: .seconds(60))
    let quietRate = Double(quiet.datagramsSent - quietBefore) / Double(n) / (60_000 / periodMs)
    let run = LongRun(
        n: n, minutes: options.fpMinutes, falseDeaths: sim.falseDeaths.count,
        suspicions: sim.nodeIDs.reduce(UInt64(0)) { $0 + sim.instance($1).stats.suspicions } - suspicionsBefore,
        refutations: sim.nodeIDs.reduce(UInt64(0)) { $0 + sim.instance($1).stats.refutations } - refutationsBefore,
        messagesPerNodePerPeriod: Double(sim.datagramsSent - sentBefore) / Double(n) / periods,
        messagesPerNodePerPeriodNoLoss: quietRate,
        largestDatagram: max(sim.largestDatagram, quiet.largestDatagram))
    longRuns.append(run)
    print(
        "long run N=\(n), \(fmt(options.fpMinutes)) min at 10% loss: false deaths \(run.falseDeaths), suspicions \(run.suspicions), refutations \(run.refutations), datagrams/node/period \(fmt(run.messagesPerNodePerPeriod, 2)) (\(fmt(run.messagesPerNodePerPeriodNoLoss, 2)) without loss), largest datagram \(run.largestDatagram) B  [\(fmt(wallClock() - started, 1)) s]"
    )
}

// Freeze: a node stopped for 2 s (SIGSTOP) in a 20-node cluster.
var freezeResults: [(falseDeathsOfOthers: Int, backAliveMs: Double?)] = []
for s in 0..<max(4, options.seeds / 4) {
    let (sim, _) = formCluster(n: 20, loss: 0.0, seed: UInt64(500 + s))
    sim.freeze("n5", for: .seconds(2))
    let start = sim.now
    sim.run(for: .seconds(2))
    let back = sim.run(checkEvery: .milliseconds(10), timeout: .seconds(20)) { sim in
        sim.allRunning(see: "n5", as: .alive) && sim.runningIDs.allSatisfy { $0 == "n5" || sim.status(of: $0, at: "n5") == .alive }
    }
    sim.run(for: .seconds(5))
    let others = sim.falseDeaths.filter { $0.subject != "n5" }.count
    freezeResults.append((others, back.map { ms($0 - start) }))
}
let freezeOK = freezeResults.allSatisfy { $0.falseDeathsOfOthers == 0 && $0.backAliveMs != nil }
print(
    "freeze 2 s (N=20, \(freezeResults.count) seeds): others declared dead \(freezeResults.map(\.falseDeathsOfOthers).reduce(0, +)); frozen node alive everywhere again after p50 \(fmt(percentile(freezeResults.compactMap(\.backAliveMs), 50))) ms from the freeze (max \(fmt(freezeResults.compactMap(\.backAliveMs).max() ?? .nan))) -> \(freezeOK ? "ok" : "FAIL")"
)

// Human table.
print(
    "\n| N | loss | join known by all p50 / p99 (ms, periods) | crash known dead by all p50 / p99 (ms) | leave known by all p50 / p99 (ms) | N started at once, converged p50 / p99 (ms) | runs |"
)
print("|---|---|---|---|---|---|---|")
for r in rows {
    let jp50 = percentile(r.join, 50)
    let jp99 = percentile(r.join, 99)
    print(
        "| \(r.n) | \(Int(r.loss * 100))% | \(fmt(jp50)) / \(fmt(jp99)) (\(fmt(jp50 / periodMs, 1)) / \(fmt(jp99 / periodMs, 1))) | \(fmt(percentile(r.death, 50))) / \(fmt(percentile(r.death, 99))) | \(fmt(percentile(r.leave, 50))) / \(fmt(percentile(r.leave, 99))) | \(fmt(percentile(r.formation, 50))) / \(fmt(percentile(r.formation, 99))) | \(r.death.count)\(r.failures > 0 ? " (\(r.failures) failed)" : "") |"
    )
}
print(
    "\n| N | minutes at 10% loss | live members declared dead | suspicions seen (sum over observers) | refutations | datagrams per node per period, 10% loss / no loss | largest datagram (B) |"
)
print("|---|---|---|---|---|---|---|")
for l in longRuns {
    print(
        "| \(l.n) | \(fmt(l.minutes)) | \(l.falseDeaths) | \(l.suspicions) | \(l.refutations) | \(fmt(l.messagesPerNodePerPeriod, 2)) / \(fmt(l.messagesPerNodePerPeriodNoLoss, 2)) | \(l.largestDatagram) |"
    )
}

// JSON line.
func jsonArray(_ values: [String]) -> String { "[" + values.joined(separator: ",") + "]" }
let cells = rows.map { r in
    "{\"n\":\(r.n),\"loss\":\(r.loss),\"join_ms_p50\":\(fmt(percentile(r.join, 50), 1)),\"join_ms_p99\":\(fmt(percentile(r.join, 99), 1)),\"join_periods_p50\":\(fmt(percentile(r.join, 50) / periodMs, 2)),\"join_periods_p99\":\(fmt(percentile(r.join, 99) / periodMs, 2)),\"death_ms_p50\":\(fmt(percentile(r.death, 50), 1)),\"death_ms_p99\":\(fmt(percentile(r.death, 99), 1)),\"leave_ms_p50\":\(fmt(percentile(r.leave, 50), 1)),\"leave_ms_p99\":\(fmt(percentile(r.leave, 99), 1)),\"runs\":\(r.death.count),\"failures\":\(r.failures)}"
}
let long = longRuns.map { l in
    "{\"n\":\(l.n),\"minutes\":\(l.minutes),\"loss\":0.1,\"false_deaths\":\(l.falseDeaths),\"suspicions\":\(l.suspicions),\"refutations\":\(l.refutations),\"datagrams_per_node_per_period\":\(fmt(l.messagesPerNodePerPeriod, 3)),\"datagrams_per_node_per_period_no_loss\":\(fmt(l.messagesPerNodePerPeriodNoLoss, 3)),\"largest_datagram\":\(l.largestDatagram)}"
}
print(
    "\nJSON {\"benchmark\":\"gossip-sim\",\"period_ms\":\(fmt(periodMs)),\"cells\":\(jsonArray(cells)),\"long_runs\":\(jsonArray(long)),\"freeze_ok\":\(freezeOK),\"wall_seconds\":\(fmt(wallClock() - started, 1))}"
)
