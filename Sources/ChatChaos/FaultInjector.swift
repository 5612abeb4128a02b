#if canImport(Glibc)
    import Glibc
#endif

/// Carries out one planned fault on a cluster this tool started and measures it: sends the signal
/// and restarts or resumes the node, or (network faults) has the netbed apply the fault to the
/// node's host and heals that host after `recoverAfter`; then waits for /readyz, and meanwhile
/// measures how long the node's presence probe (its watcher user) stays in the rooms' member lists
/// as seen from the other nodes.
struct FaultInjector: Sendable {
    let cluster: LocalCluster
    /// The test network (network faults need it).
    let bed: NetBed?
    let probe: ClusterProbe
    let clock: RunClock
    let rooms: [String]
    let presenceBound: Double
    let log: @Sendable (String) -> Void

    /// Runs `fault`; `watcher` is the user of the node's presence probe at that moment.
    func run(_ fault: PlannedFault, watcher: String) async -> FaultOutcome {
        let node = cluster.nodes[fault.node]
        let id = cluster.nodeIDs[fault.node]
        var note = ""
        let startedAt = clock.now()
        log("\(format(startedAt)) s: fault #\(fault.index) \(fault.kind.rawValue) \(id)")
        // A paused or cut-off node's users can only leave while the fault lasts (the node takes
        // them back when it returns), so their measurement ends with the fault instead of waiting
        // out the bound. Loss and delay take nobody out: nothing to measure.
        let presenceLimit = fault.kind.presenceMustClear ? presenceBound + 5 : fault.recoverAfter + 1
        async let presence =
            fault.kind.takesNodeOut ? measurePresence(watcher: watcher, faulted: fault.node, since: startedAt, limit: presenceLimit) : nil
        switch fault.kind {
        case .kill:
            node.signal(SIGKILL)
            _ = await node.waitForExit(timeout: .seconds(5))
            await sleep(fault.recoverAfter)
            note = restart(node)
        case .term:
            node.signal(SIGTERM)
            if let status = await node.waitForExit(timeout: .seconds(15)) {
                note = "SIGTERM exit status \(status) after \(format(clock.now() - startedAt)) s"
            } else {
                note = "did not exit within 15 s of SIGTERM; killed"
                node.signal(SIGKILL)
                _ = await node.waitForExit(timeout: .seconds(5))
            }
            await sleep(fault.recoverAfter)
            note += restart(node)
        case .pause:
            node.signal(SIGSTOP)
            await sleep(fault.recoverAfter)
            node.signal(SIGCONT)
        case .partition, .asym, .route, .vanish, .loss, .delay:
            note = await network(fault)
        }
        var recoveredAt: Double?
        let deadline = clock.now() + 30
        while clock.now() < deadline {
            if await cluster.isReady(fault.node) {
                recoveredAt = clock.now()
                break
            }
            await sleep(0.1)
        }
        let cleaned = await presence
        return FaultOutcome(
            fault: fault, startedAt: startedAt, recoveredAt: recoveredAt, presenceCleanedAfter: cleaned, note: note)
    }

    /// `netbed.py fault --kind K --host I`, wait, `netbed.py heal --host I`; returns a note on failure.
    private func network(_ fault: PlannedFault) async -> String {
        guard let bed else { return "no test network: \(fault.kind.rawValue) needs --hosts" }
        var note = ""
        do {
            try await bed.fault(fault.kind, host: fault.node + 1)
        } catch {
            note = "\(error)"
        }
        await sleep(fault.recoverAfter)
        do {
            try await bed.heal(host: fault.node + 1)
        } catch {
            note += (note.isEmpty ? "" : "; ") + "\(error)"
        }
        return note
    }

    private func restart(_ node: ManagedProcess) -> String {
        do {
            try node.start()
            return ""
        } catch {
            return "; restart failed: \(error)"
        }
    }

    /// Seconds from `since` until `watcher` is absent from every room's members on some other
    /// node; nil if that does not happen within `limit` seconds.
    private func measurePresence(watcher: String, faulted: Int, since: Double, limit: Double) async -> Double? {
        let others = cluster.endpoints.indices.filter { $0 != faulted }
        guard !others.isEmpty else { return nil }
        var turn = 0
        while clock.now() - since < limit {
            let endpoint = cluster.endpoints[others[turn % others.count]]
            turn += 1
            var gone = true
            for room in rooms {
                guard let members = await probe.members(room: room, at: endpoint), !members.contains(watcher) else {
                    gone = false
                    break
                }
            }
            if gone { return clock.now() - since }
            await sleep(0.1)
        }
        return nil
    }

    private func sleep(_ seconds: Double) async {
        try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
    }
}
