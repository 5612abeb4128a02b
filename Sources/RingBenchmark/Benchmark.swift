import BenchmarkSupport
import ChatCore
import Ring

// MARK: - Fixtures

let keyCount = 100_000
/// "room-0" ... "room-99999": the keys for balance and movement.
let rooms: [String] = (0..<keyCount).map { "room-\($0)" }
let roomHashes: [UInt64] = rooms.map(HashRing.hash)

let lookupCount = 1_000_000
/// 1,000,000 distinct pre-made keys for the lookup loops.
let lookupKeys: [String] = (0..<lookupCount).map { "room-\($0 &* 7_919 % 10_000_000)" }
let lookupHashes: [UInt64] = lookupKeys.map(HashRing.hash)

func nodes(_ count: Int) -> [String] { (0..<count).map { "node-\($0)" } }

// MARK: - Measurements

/// max/mean and min/mean of the keys each member owns.
func keyLoad(_ ring: HashRing) -> (max: Double, min: Double) {
    var index: [String: Int] = [:]
    for (i, m) in ring.members.enumerated() { index[m] = i }
    var counts = Array(repeating: 0, count: ring.members.count)
    for h in roomHashes { counts[index[ring.owner(ofHash: h)!]!] += 1 }
    let mean = Double(keyCount) / Double(ring.members.count)
    return (Double(counts.max()!) / mean, Double(counts.min()!) / mean)
}

/// max/mean of the exact share of the circle each member owns (arcs of a diff from an empty ring).
func exactShareMax(_ ring: HashRing) -> Double {
    let circle = 18_446_744_073_709_551_616.0
    var share: [String: Double] = [:]
    for arc in HashRing(members: [String]()).diff(to: ring) {
        share[arc.to!, default: 0] += arc.start == arc.end ? circle : Double(arc.end &- arc.start)
    }
    return share.values.max()! / (circle / Double(ring.members.count))
}

/// Fraction of the 100,000 keys whose owner changes, and whether every change goes to `joiner`
/// (join) or comes from `leaver` to a remaining member (leave).
func moved(_ old: HashRing, _ new: HashRing, to joiner: String? = nil, from leaver: String? = nil) -> (Double, Bool) {
    let changes = old.ownerChanges(of: rooms, to: new)
    let clean = changes.allSatisfy { change in
        (joiner == nil || change.to == joiner) && (leaver == nil || (change.from == leaver && change.to != nil))
    }
    return (Double(changes.count) / Double(keyCount), clean)
}

@inline(never)
func runEmpty() -> Int {
    var sum = 0
    for key in lookupKeys { sum &+= key.utf8.count }
    return sum
}

@inline(never)
func runOwnerLookups(_ ring: HashRing) -> Int {
    var sum = 0
    for key in lookupKeys { sum &+= ring.owner(of: key)!.utf8.count }
    return sum
}

@inline(never)
func runHashLookups(_ ring: HashRing) -> Int {
    var sum = 0
    for h in lookupHashes { sum &+= ring.owner(ofHash: h)!.utf8.count }
    return sum
}

@inline(never)
func runHashOnly() -> Int {
    var sum: UInt64 = 0
    for key in lookupKeys { sum &+= HashRing.hash(key) }
    return Int(truncatingIfNeeded: sum)
}

@inline(never)
func runPreferenceLists(_ ring: HashRing, _ count: Int) -> Int {
    var sum = 0
    for key in lookupKeys.prefix(count) { sum &+= ring.preferenceList(of: key, count: 2).count }
    return sum
}

// MARK: - Report

enum Report {
    static func run() {
        var json: [String] = []
        let v = HashRing.defaultVirtualNodes
        print("HashRing benchmark: xxHash64, \(keyCount) keys \"room-0\"...\"room-\(keyCount - 1)\", members \"node-0\"...")
        print("default virtualNodes = \(v)")

        // Default virtual nodes: 3, 10, 50 members.
        print("")
        print("members  keys max/mean  min/mean  exact max/mean  join moved  1/(N+1)  all to new  leave moved     1/N  all from leaver")
        var sizes: [String] = []
        for n in [3, 10, 50] {
            let ring = HashRing(members: nodes(n))
            let load = keyLoad(ring)
            let exact = exactShareMax(ring)
            let (join, joinClean) = moved(ring, HashRing(members: nodes(n + 1)), to: "node-\(n)")
            let (leave, leaveClean) = moved(ring, HashRing(members: nodes(n).filter { $0 != "node-1" }), from: "node-1")
            print(
                pad("\(n)", 7), pad(fixed(load.max), 14), pad(fixed(load.min), 9), pad(fixed(exact), 15),
                pad(fixed(join, 4), 11), pad(fixed(1 / Double(n + 1), 4), 8), pad("\(joinClean)", 11),
                pad(fixed(leave, 4), 12), pad(fixed(1 / Double(n), 4), 7), pad("\(leaveClean)", 16))
            sizes.append(
                "{\"members\":\(n),\"maxOverMean\":\(fixed(load.max, 4)),\"minOverMean\":\(fixed(load.min, 4)),"
                    + "\"exactMaxOverMean\":\(fixed(exact, 4)),\"joinMoved\":\(fixed(join, 5)),"
                    + "\"joinIdeal\":\(fixed(1 / Double(n + 1), 5)),\"joinAllToNew\":\(joinClean),"
                    + "\"leaveMoved\":\(fixed(leave, 5)),\"leaveIdeal\":\(fixed(1 / Double(n), 5)),\"leaveAllFromLeaver\":\(leaveClean)}")
        }
        json.append("\"defaultVirtualNodes\":\(v)")
        json.append("\"sizes\":[\(sizes.joined(separator: ","))]")

        // Lookups, 50 members.
        let ring50 = HashRing(members: nodes(50))
        let ownerNs = timePerOp(operations: lookupCount) { runOwnerLookups(ring50) }
        let ownerHashNs = timePerOp(operations: lookupCount) { runHashLookups(ring50) }
        let hashNs = timePerOp(operations: lookupCount) { runHashOnly() }
        let preferenceNs = timePerOp(operations: lookupCount / 10) { runPreferenceLists(ring50, lookupCount / 10) }
        let (counts, how) = RingAllocations.measure()
        func perOp(_ phase: String) -> String {
            guard let c = counts?[phase] else { return "not measured" }
            return "\(fixed(Double(c.allocations) / Double(c.operations), 4)) (\(c.allocations) in \(c.operations))"
        }
        func perOpJSON(_ phase: String) -> String {
            guard let c = counts?[phase] else { return "null" }
            return fixed(Double(c.allocations) / Double(c.operations), 4)
        }
        print("")
        print(
            "lookups, 50 members x \(ring50.virtualNodes) virtual nodes = \(50 * ring50.virtualNodes) points; median of 5 runs of \(lookupCount) pre-made keys"
        )
        print("(wall: ContinuousClock; CPU: this thread's CPU time, which excludes time other processes held the core)")
        func line(_ name: String, _ t: PerOp, _ phase: String) -> String {
            "  \(name)\(pad(fixed(t.wallNs, 1), 8))\(pad(fixed(t.cpuNs, 1), 9))   \(perOp(phase))"
        }
        print("                             wall ns   CPU ns   allocations/op")
        print(line("owner(of:)               ", ownerNs, "ownerOfKey"))
        print(line("owner(ofHash:)           ", ownerHashNs, "ownerOfHash"))
        print(line("HashRing.hash            ", hashNs, "hash"))
        print(line("preferenceList(count: 2) ", preferenceNs, "preferenceList2") + " (its result array)")
        print("  allocations counted by: \(how); empty-loop control: \(perOp("empty"))")
        json.append(
            "\"lookupNsPerOp\":{\"members\":50,\"ownerOfKeyWall\":\(fixed(ownerNs.wallNs, 2)),\"ownerOfKeyCPU\":\(fixed(ownerNs.cpuNs, 2)),"
                + "\"ownerOfHashWall\":\(fixed(ownerHashNs.wallNs, 2)),\"ownerOfHashCPU\":\(fixed(ownerHashNs.cpuNs, 2)),"
                + "\"hashWall\":\(fixed(hashNs.wallNs, 2)),\"hashCPU\":\(fixed(hashNs.cpuNs, 2)),"
                + "\"preferenceList2Wall\":\(fixed(preferenceNs.wallNs, 2)),\"preferenceList2CPU\":\(fixed(preferenceNs.cpuNs, 2))}")
        json.append(
            "\"allocationsPerOp\":{\"measured\":\(counts != nil),\"ownerOfKey\":\(perOpJSON("ownerOfKey")),"
                + "\"ownerOfHash\":\(perOpJSON("ownerOfHash")),\"hash\":\(perOpJSON("hash")),"
                + "\"preferenceList2\":\(perOpJSON("preferenceList2")),\"emptyControl\":\(perOpJSON("empty"))}")

        // Construction and diff.
        let build50 = milliseconds { HashRing(members: nodes(50)).members.count }
        let build3 = milliseconds { HashRing(members: nodes(3)).members.count }
        let ring51 = HashRing(members: nodes(51))
        let diff50 = milliseconds { ring50.diff(to: ring51).count }
        print("")
        print(
            "construction (median of 5), wall / CPU: 50 members \(fixed(build50.wallNs)) / \(fixed(build50.cpuNs)) ms, 3 members \(fixed(build3.wallNs)) / \(fixed(build3.cpuNs)) ms"
        )
        print(
            "diff 50 -> 51 members, wall / CPU: \(fixed(diff50.wallNs)) / \(fixed(diff50.cpuNs)) ms, \(ring50.diff(to: ring51).count) arcs")
        json.append(
            "\"buildMs\":{\"members50Wall\":\(fixed(build50.wallNs, 4)),\"members50CPU\":\(fixed(build50.cpuNs, 4)),"
                + "\"members3Wall\":\(fixed(build3.wallNs, 4)),\"members3CPU\":\(fixed(build3.cpuNs, 4))}")
        json.append("\"diff50to51Ms\":{\"wall\":\(fixed(diff50.wallNs, 4)),\"cpu\":\(fixed(diff50.cpuNs, 4))}")

        json.append("\"sweep50\":[\(sweep().joined(separator: ","))]")
        print("")
        print("(checksum \(sinkValue))")
        print("{\(json.joined(separator: ","))}")
    }

    /// virtualNodes sweep for 50 members; returns the JSON objects.
    static func sweep() -> [String] {
        // 20 sets of 50 random member names like "10.0.37.201:7946", for the spread of exact shares.
        var random = SplitMix64(seed: 42)
        let nameSets: [[String]] = (0..<20).map { _ in
            (0..<50).map { _ in
                let x = random.next()
                return "10.\(x & 0xFF).\((x >> 8) & 0xFF).\((x >> 16) & 0xFF):\(7000 + (x >> 24) % 1000)"
            }
        }
        print("")
        print("sweep, 50 members: keys max/mean (node-i), exact share max/mean (node-i; mean and worst of 20 random name sets),")
        print(
            "join 50 -> 51 keys moved (ideal \(fixed(1 / 51.0, 4))), owner(of:) CPU ns/op, construction CPU ms, ring memory (12 B per point + slot table)"
        )
        print("vnodes  keys max/mean  exact max/mean  exact mean20  exact worst20  join moved  lookup ns  build ms  memory KB")
        var objects: [String] = []
        for vnodes in [64, 128, 256, 512, 1024] {
            let ring = HashRing(members: nodes(50), virtualNodes: vnodes)
            let load = keyLoad(ring)
            let exact = exactShareMax(ring)
            let randomExact = nameSets.map { exactShareMax(HashRing(members: $0, virtualNodes: vnodes)) }
            let meanRandom = randomExact.reduce(0, +) / Double(randomExact.count)
            let worstRandom = randomExact.max()!
            let (join, _) = moved(ring, HashRing(members: nodes(51), virtualNodes: vnodes), to: "node-50")
            let lookupNs = timePerOp(operations: lookupCount) { runOwnerLookups(ring) }
            let build = milliseconds { HashRing(members: nodes(50), virtualNodes: vnodes).members.count }
            let points = 50 * vnodes
            let slotBytes = 4 * ((1 << min(16, max(1, (Int.bitWidth - 1 - points.leadingZeroBitCount) - 2))) + 1)
            let memory = points * 12 + slotBytes
            print(
                pad("\(vnodes)", 6), pad(fixed(load.max), 14), pad(fixed(exact), 15), pad(fixed(meanRandom), 13),
                pad(fixed(worstRandom), 14), pad(fixed(join, 4), 11), pad(fixed(lookupNs.cpuNs, 1), 10), pad(fixed(build.cpuNs), 9),
                pad("\(memory / 1024)", 10))
            objects.append(
                "{\"virtualNodes\":\(vnodes),\"maxOverMean\":\(fixed(load.max, 4)),\"exactMaxOverMean\":\(fixed(exact, 4)),"
                    + "\"exactMaxOverMeanRandomMean\":\(fixed(meanRandom, 4)),\"exactMaxOverMeanRandomWorst\":\(fixed(worstRandom, 4)),"
                    + "\"joinMoved\":\(fixed(join, 5)),\"ownerOfKeyCPUNs\":\(fixed(lookupNs.cpuNs, 2)),\"ownerOfKeyWallNs\":\(fixed(lookupNs.wallNs, 2)),\"buildCPUMs\":\(fixed(build.cpuNs, 4)),"
                    + "\"memoryBytes\":\(memory)}")
        }
        return objects
    }
}
