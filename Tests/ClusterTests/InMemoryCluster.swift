import ChatCore
import History
import Logging
import Ring
import Synchronization

@testable import Cluster

/// Several `RoomOwner`s wired to each other in memory: each node has its own ring (so rings can
/// disagree, as they do while gossip spreads a change), and the network between them can be cut
/// per node (a crash or a pause) or made to lose replies after the request was applied.
final class InMemoryCluster: Sendable {
    struct Node {
        var owner: RoomOwner
        var ring: RingView
        /// Crashed or paused: requests to it fail (a paused node still runs its own code).
        var reachable = true
    }

    let nodes = Mutex<[String: Node]>([:])
    /// Replies from these nodes are lost after the request was applied (one-shot per entry).
    let loseNextReplyFrom = Mutex<Set<String>>([])
    let clock = Atomic<Int64>(1_000)
    /// Each node's boot id (a restart under the same id gets a new one).
    let boots = Mutex<[String: String]>([:])
    let capacity: Int
    let history: @Sendable (String) -> any HistoryStore

    init(
        _ ids: [String], capacity: Int = 100,
        history: @escaping @Sendable (String) -> any HistoryStore = { _ in MemoryHistoryStore(capacity: 100) }
    ) {
        self.capacity = capacity
        self.history = history
        for id in ids { add(id) }
        setRing(ids, on: ids)
    }

    /// Starts a fresh node (a new process: it holds nothing).
    @discardableResult
    func add(_ id: String) -> RoomOwner {
        let ring = RingView(HashRing(members: [id], virtualNodes: 64))
        let owner = RoomOwner(
            nodeID: id, configuration: .init(logCapacity: capacity), history: history(id),
            logger: Logger(label: "test.\(id)"), now: { [self] in self.clock.add(1, ordering: .relaxed).newValue }, ring: ring,
            peers: Peers(cluster: self, from: id), bootOf: { [self] node in self.boots.withLock { $0[node] } ?? "" })
        nodes.withLock { $0[id] = Node(owner: owner, ring: ring) }
        return owner
    }

    func owner(_ id: String) -> RoomOwner { nodes.withLock { $0[id]!.owner } }

    /// Gives `nodes` the ring of `members` (as gossip would, one node at a time).
    func setRing(_ members: [String], on ids: [String]) {
        for id in ids {
            let node = nodes.withLock { $0[id] }
            guard let node else { continue }
            node.ring.current = HashRing(members: members, virtualNodes: 64)
            node.owner.ringChanged()
        }
    }

    func setReachable(_ id: String, _ reachable: Bool) {
        nodes.withLock { $0[id]?.reachable = reachable }
    }

    /// Kills `id`: unreachable, and gone from the others' rings; returns the survivors.
    @discardableResult
    func kill(_ id: String) -> [String] {
        setReachable(id, false)
        owner(id).active.store(false, ordering: .relaxed)
        let survivors = nodes.withLock { nodes in nodes.keys.filter { $0 != id && nodes[$0]!.reachable }.sorted() }
        setRing(survivors, on: survivors)
        nodes.withLock { $0[id] = nil }
        for survivor in survivors { owner(survivor).nodeGone(id) }
        return survivors
    }

    func ownerOf(_ room: String, on id: String) -> String? {
        nodes.withLock { $0[id]!.ring.owner(of: room) }
    }

    /// A room name whose owner on the ring of `members` is `node`.
    static func room(ownedBy node: String, among members: [String], prefix: String = "room") -> String {
        let ring = HashRing(members: members, virtualNodes: 64)
        for i in 0... where ring.owner(of: "\(prefix)\(i)") == node { return "\(prefix)\(i)" }
        fatalError("unreachable")
    }

    fileprivate func target(_ id: String) -> RoomOwner? {
        nodes.withLock { nodes in nodes[id].flatMap { $0.reachable ? $0.owner : nil } }
    }

    fileprivate func losesReply(from id: String) -> Bool {
        loseNextReplyFrom.withLock { $0.remove(id) != nil }
    }

    struct Unreachable: Error {}

    /// `RoomPeers` for one node: requests are direct calls into the target's `RoomOwner`.
    struct Peers: RoomPeers {
        let cluster: InMemoryCluster
        let from: String

        func replicate(_ request: ReplicationRequest, to node: String) async throws -> ReplicationReply {
            guard cluster.target(from) != nil, let target = cluster.target(node) else { throw Unreachable() }
            let reply = target.replicate(request, from: from)
            if cluster.losesReply(from: node) { throw Unreachable() }
            return reply
        }

        func claim(room: String, from node: String) async -> ClaimResolver.Answer {
            guard cluster.target(from) != nil, let target = cluster.target(node) else { return .unreachable }
            let answer = target.answerClaim(room: room, claimer: from)
            return cluster.losesReply(from: node) ? .unreachable : answer
        }
    }
}

extension RoomOwner {
    /// Sends and retries `unavailable` for a while, as a forwarding node does (same id).
    func sendRetrying(
        room: String, user: String, id: String, text: String = "t", attempts: Int = 60
    ) async throws -> (
        seq: UInt64, duplicate: Bool
    ) {
        for attempt in 1... {
            do {
                return try await send(room: room, user: user, id: id, text: text)
            } catch let error as ProtocolError where error.code == .unavailable && attempt < attempts {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        fatalError("unreachable")
    }

    /// The committed seq of a room this node orders, read without the read barrier.
    func committedSeq(of room: String) -> UInt64? {
        rooms.withLock { rooms in
            if case .ready(let owned) = rooms[room] { owned.machine.committedSeq } else { nil }
        }
    }

    /// The committed log of a room this node orders (taking it over if needed).
    func committed(_ room: String) async throws -> [ChatMessage] {
        try await messages(room: room, before: nil, since: 0, limit: 10_000).messages
    }
}

extension InMemoryCluster {
    /// Waits (at most two seconds) until every live node is settled: no take-over running, every
    /// owned room ordered and its successor in sync.
    func settle() async throws {
        for _ in 0..<400 {
            let owners = nodes.withLock { nodes in nodes.values.filter(\.reachable).map(\.owner) }
            if owners.allSatisfy(\.isSettled) { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        struct NotSettled: Error, CustomStringConvertible { var description: String }
        let why = nodes.withLock { nodes in nodes.filter(\.value.reachable).map { "\($0.key): \($0.value.owner.unsettled)" } }
        throw NotSettled(description: why.sorted().joined(separator: "; "))
    }
}
