#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Faults of the group simulator: partitions (symmetric, asymmetric, one-way), pauses, crashes
/// with amnesia, and roster joins, leaves and removals.
extension GroupSimulation {
    public enum Fault: Sendable, Hashable {
        case cut([String], [String], oneWay: Bool)
        case pause(String)
    }

    // MARK: Scripted controls (tests use these directly)

    /// Cuts the links from every node of `a` to every node of `b` (and back unless `oneWay`).
    public func partition(_ a: [String], _ b: [String], oneWay: Bool = false) {
        for x in a {
            for y in b where x != y {
                cut.insert(Link(from: x, to: y))
                if !oneWay { cut.insert(Link(from: y, to: x)) }
            }
        }
        topologyChanged()
    }

    /// Cuts `name` off from everyone, both ways.
    public func isolate(_ name: String) { partition([name], nodes.map(\.name).filter { $0 != name }) }

    /// Restores every link.
    public func healNetwork() {
        cut = []
        topologyChanged()
    }

    /// Stops a process without losing its state (SIGSTOP): what reaches it waits.
    public func pause(_ name: String) {
        let node = node(name)
        guard node.state == .running else { return }
        node.state = .paused
        topologyChanged()
    }

    /// Resumes a paused process; it handles what waited, in order.
    public func resume(_ name: String) {
        let node = node(name)
        guard node.state == .paused else { return }
        node.state = .running
        let waiting = node.buffered
        node.buffered = []
        for event in waiting { process(event) }
        // A placement that came while it was paused was dropped: the roster is current again.
        deliverPlacement(node)
        deliverView(node)
        topologyChanged()
    }

    /// Kills a process: its state is gone. A restart comes back empty with a new boot id.
    public func crash(_ name: String) {
        let node = node(name)
        node.state = .crashed
        node.groups = [:]
        node.buffered = []
        topologyChanged()
    }

    public func restart(_ name: String) {
        let node = node(name)
        guard node.state == .crashed else { return }
        node.boot = nextBoot
        nextBoot += 1
        node.state = .running
        for room in rooms {
            node.groups[room] = RoomGroup(room: room, me: node.replica, genesis: nil, settings: configuration.settings)
        }
        deliverPlacement(node)
        deliverView(node)
        topologyChanged()
    }

    /// Adds a node to the roster (starting it if it is stopped); every node learns it in time.
    public func join(_ name: String) {
        guard !roster.contains(name) else { return }
        roster.append(name)
        roster.sort()
        if node(name).state == .crashed { restart(name) }
        rosterChanged()
    }

    /// Removes a node from the roster (a graceful leave keeps it running; a removal kills it).
    public func leave(_ name: String, kill: Bool) {
        roster.removeAll { $0 == name }
        if kill { crash(name) }
        rosterChanged()
    }

    func rosterChanged() {
        for node in nodes where node.state != .crashed { deliverPlacement(node) }
    }

    /// Everything heals: links, pauses, and crashed roster members restart.
    public func healAll() {
        cut = []
        for node in nodes where node.state == .paused { resume(node.name) }
        for node in nodes where node.state == .crashed && roster.contains(node.name) { restart(node.name) }
        topologyChanged()
    }

    // MARK: Random chaos

    func heal(_ fault: Fault) {
        switch fault {
        case .cut(let a, let b, let oneWay):
            for x in a {
                for y in b {
                    cut.remove(Link(from: x, to: y))
                    if !oneWay { cut.remove(Link(from: y, to: x)) }
                }
            }
            topologyChanged()
        case .pause(let name):
            resume(name)
        }
    }

    func scheduleNextFault(generation: Int) {
        let mean = Double(configuration.faultInterval)
        let wait = UInt64(-mean * log(max(1e-9, Double.random(in: 0..<1, using: &rng))))
        schedule(.fault(generation: generation), after: max(1_000_000, wait))
    }

    func injectFault(generation: Int) {
        guard chaosEnabled, generation == faultGeneration else { return }
        defer { scheduleNextFault(generation: generation) }
        faultsInjected += 1
        let running = nodes.filter { $0.state == .running }.map(\.name)
        guard !running.isEmpty else { return }
        let healAfter = rng.between(300_000_000, 3_000_000_000)
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<30:
            let shuffled = running.shuffled(using: &rng)
            let size = Int.random(in: 1...max(1, shuffled.count / 2), using: &rng)
            let a = Array(shuffled.prefix(size))
            let b = nodes.map(\.name).filter { !a.contains($0) }
            partition(a, b)
            schedule(.heal(.cut(a, b, oneWay: false)), after: healAfter)
        case 30..<45:
            let a = [running.randomElement(using: &rng)!]
            let b = rng.chance(0.5) ? [nodes.map(\.name).filter { $0 != a[0] }.randomElement(using: &rng)!] : nodes.map(\.name)
            partition(a, b, oneWay: true)
            schedule(.heal(.cut(a, b, oneWay: true)), after: healAfter)
        case 45..<62:
            let name = running.randomElement(using: &rng)!
            pause(name)
            schedule(.heal(.pause(name)), after: healAfter)
        case 62..<80 where configuration.crashes:
            let name = running.randomElement(using: &rng)!
            crash(name)
            schedule(.restart(node: name), after: rng.between(300_000_000, 2_000_000_000))
        case 80..<100 where configuration.rosterChanges:
            changeRoster()
        default:
            break
        }
    }

    func changeRoster() {
        let outside = nodes.map(\.name).filter { !roster.contains($0) }
        if let name = outside.randomElement(using: &rng), rng.chance(0.5) || roster.count <= 3 {
            join(name)
        } else if roster.count > 3, let name = roster.randomElement(using: &rng) {
            leave(name, kill: rng.chance(0.3))
        }
    }
}
