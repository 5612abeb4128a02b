// group-sim: the room consensus groups (RoomGroup) under random faults, many seeds, checked
// after every step. A failing seed prints itself and its step; `--seed S` replays it exactly.
//
//   swift run -c release group-sim [--seeds N] [--start S] [--seed S] [--nodes 5] [--rooms 3]
//       [--rounds 2] [--no-crashes] [--no-roster] [--retained 12]
//
// With `--seed S`, probes and the room reports are printed; DEBUG_ROOM=room0 DEBUG_FROM_MS=4000
// also prints every event and action of that room's replicas.
import RoomGroup

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct Options {
    var seeds = 200
    var start: UInt64 = 1
    var configuration = GroupSimulation.Configuration()

    init(_ args: [String]) {
        var i = 1
        func value() -> String {
            i += 1
            return i < args.count ? args[i] : ""
        }
        while i < args.count {
            switch args[i] {
            case "--seeds": seeds = Int(value()) ?? seeds
            case "--start": start = UInt64(value()) ?? start
            case "--seed":
                start = UInt64(value()) ?? start
                seeds = 1
            case "--nodes": configuration.nodes = Int(value()) ?? configuration.nodes
            case "--rooms": configuration.rooms = Int(value()) ?? configuration.rooms
            case "--rounds": configuration.rounds = Int(value()) ?? configuration.rounds
            case "--no-crashes": configuration.crashes = false
            case "--no-roster": configuration.rosterChanges = false
            case "--retained":
                configuration.settings.retainedEntries = Int(value()) ?? configuration.settings.retainedEntries
            default: print("unknown option \(args[i])")
            }
            i += 1
        }
    }
}

func seconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

let options = Options(CommandLine.arguments)
let began = seconds()
var failures: [String] = []
var steps = 0
var acks = 0
var checks = 0
var skipped = 0
var faults = 0
var packets = 0
var snapshots = 0
var gaps = 0
var recoveries = 0
var lost = 0
for seed in options.start..<(options.start + UInt64(options.seeds)) {
    var configuration = options.configuration
    configuration.seed = seed
    let simulation = GroupSimulation(configuration: configuration)
    if options.seeds == 1 { simulation.trace = { print($0) } }
    if options.seeds == 1, let room = getenv("DEBUG_ROOM") {
        simulation.debugRoom = String(cString: room)
        let from = getenv("DEBUG_FROM_MS").map { String(cString: $0) } ?? "0"
        simulation.debugFrom = (UInt64(from) ?? 0) * 1_000_000
    }
    if let failure = simulation.runChaos() {
        failures.append(failure)
        print("FAIL \(failure)")
        if options.seeds == 1 { for room in simulation.rooms { print(simulation.report(room)) } }
    }
    steps += simulation.steps
    acks += simulation.checker.acks
    checks += simulation.progressChecks
    skipped += simulation.progressSkipped
    faults += simulation.faultsInjected
    packets += simulation.packetsSent
    snapshots += simulation.snapshotsSent
    gaps += simulation.gapsReported
    recoveries += simulation.recoveries
    lost += simulation.checker.lostInRecovery
}
let elapsed = seconds() - began
print(
    """
    seeds \(options.start)..<\(options.start + UInt64(options.seeds)): \(options.seeds - failures.count) passed, \
    \(failures.count) failed in \(String(Int(elapsed * 10) / 10)) s
    steps \(steps), acked replies \(acks), faults \(faults), packets \(packets), snapshots sent \(snapshots), gaps \(gaps)
    progress checks \(checks) passed or failed above, \(skipped) skipped (a majority of voters gone for good)
    operator recoveries \(recoveries), committed messages lost in them (within the skipped seqs) \(lost)
    """)
exit(failures.isEmpty ? 0 : 1)
