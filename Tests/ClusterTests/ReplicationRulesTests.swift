import ChatCore
import Testing

@testable import Cluster

/// The pure rules of replication, epochs and take-over, one rule per test.
@Suite("Replication rules: ReplicationState, ReplicaRules, ClaimResolver")
struct ReplicationRulesTests {
    // MARK: ReplicationState

    @Test func aNewOwnerSyncsFirstThenAppendsOneRequestAtATime() {
        var state = ReplicationState()
        #expect(state.next(successor: "b", committedSeq: 0, lastSeq: 0) == .sync(to: "b"), "the whole state first")
        #expect(state.next(successor: "b", committedSeq: 0, lastSeq: 2) == .idle, "one request in flight")
        let synced = state.finished(.ack(seq: 0), generation: state.generation)
        #expect(synced)
        #expect(state.next(successor: "b", committedSeq: 0, lastSeq: 2) == .append(to: "b", baseSeq: 0, sessions: false))
        let appended = state.finished(.ack(seq: 2), generation: state.generation)
        #expect(appended)
        #expect(state.next(successor: "b", committedSeq: 2, lastSeq: 2) == .idle, "nothing pending")
        #expect(state.isIdle(lastSeq: 2, committedSeq: 2))
    }

    @Test func aNewSuccessorOrAResyncGetsTheWholeState() {
        var state = ReplicationState()
        _ = state.next(successor: "b", committedSeq: 0, lastSeq: 0)
        _ = state.finished(.ack(seq: 0), generation: state.generation)
        #expect(state.next(successor: "c", committedSeq: 0, lastSeq: 1) == .sync(to: "c"))
        _ = state.finished(.resync, generation: state.generation)
        #expect(state.next(successor: "c", committedSeq: 0, lastSeq: 1) == .sync(to: "c"))
    }

    @Test func aReadSendsAnEmptyAppendAfterItArrived() {
        var state = ReplicationState()
        _ = state.next(successor: "b", committedSeq: 0, lastSeq: 0)
        let inFlight = state.generation
        state.readRequested()
        #expect(state.next(successor: "b", committedSeq: 0, lastSeq: 0) == .idle, "the request in flight was sent before the read")
        #expect(!state.isIdle(lastSeq: 0, committedSeq: 0))
        _ = state.finished(.ack(seq: 0), generation: inFlight)
        #expect(state.next(successor: "b", committedSeq: 0, lastSeq: 0) == .append(to: "b", baseSeq: 0, sessions: false))
        #expect(state.generation > inFlight, "its ack confirms the read")
        _ = state.finished(.ack(seq: 0), generation: state.generation)
        #expect(state.next(successor: "b", committedSeq: 0, lastSeq: 0) == .idle, "one empty append per batch of reads")
    }

    @Test func aRequestToADepartedSuccessorIsAbandoned() {
        var state = ReplicationState()
        _ = state.next(successor: "b", committedSeq: 0, lastSeq: 1)
        let stuck = state.generation
        #expect(state.next(successor: "c", committedSeq: 0, lastSeq: 1) == .sync(to: "c"), "not waited out")
        let late = state.finished(.ack(seq: 1), generation: stuck)
        #expect(!late, "the late answer is ignored")
        let current = state.finished(.ack(seq: 1), generation: state.generation)
        #expect(current)
    }

    @Test func aloneTheOwnerCommitsLocallyAndPresenceTravels() {
        var state = ReplicationState()
        #expect(state.next(successor: nil, committedSeq: 0, lastSeq: 3) == .commitLocally)
        #expect(state.next(successor: nil, committedSeq: 3, lastSeq: 3) == .idle)
        _ = state.next(successor: "b", committedSeq: 3, lastSeq: 3)
        _ = state.finished(.ack(seq: 3), generation: state.generation)
        state.sessionsDidChange()
        #expect(state.next(successor: "b", committedSeq: 3, lastSeq: 3) == .append(to: "b", baseSeq: 3, sessions: true))
    }

    // MARK: ReplicaRules

    @Test func aReplicaAcceptsOnlyTheRingOwnerUnderACurrentEpoch() {
        let held = ReplicaRules.Held(epoch: 3, lastSeq: 10)
        #expect(ReplicaRules.append(held: held, sender: "a", epoch: 3, baseSeq: 10, ringOwner: "a", ordersItself: false) == .accept)
        #expect(ReplicaRules.append(held: held, sender: "a", epoch: 3, baseSeq: 9, ringOwner: "a", ordersItself: false) == .resync)
        #expect(ReplicaRules.append(held: held, sender: "a", epoch: 4, baseSeq: 10, ringOwner: "a", ordersItself: false) == .resync)
        #expect(ReplicaRules.append(held: nil, sender: "a", epoch: 1, baseSeq: 0, ringOwner: "a", ordersItself: false) == .resync)
        guard case .stale = ReplicaRules.append(held: held, sender: "a", epoch: 2, baseSeq: 10, ringOwner: "a", ordersItself: false),
            case .stale = ReplicaRules.append(held: held, sender: "x", epoch: 3, baseSeq: 10, ringOwner: "a", ordersItself: false),
            case .stale = ReplicaRules.sync(held: nil, sender: "a", epoch: 9, ringOwner: "a", ordersItself: true),
            case .stale = ReplicaRules.sync(held: held, sender: "a", epoch: 2, ringOwner: "a", ordersItself: false)
        else {
            Issue.record("an older epoch, a node that is not the owner, or a replica that orders the room must be refused")
            return
        }
        #expect(ReplicaRules.sync(held: held, sender: "a", epoch: 3, ringOwner: "a", ordersItself: false) == .accept)
    }

    // MARK: ClaimResolver

    func transfer(epoch: UInt64, lastSeq: UInt64) -> RoomTransfer {
        let log = (max(1, lastSeq - min(lastSeq, 2) + 1)...max(1, lastSeq)).filter { $0 <= lastSeq }.map {
            ChatMessage(room: "r", seq: $0, id: "\($0)", user: "u", text: "t", ts: 0)
        }
        return RoomTransfer(
            room: "r", epoch: epoch, snapshot: .init(lastSeq: lastSeq, lastTimestamp: 0, log: log, recentIDs: []), sessions: [])
    }

    @Test func anOldOwnersSealedStateIsAHandOff() {
        let decision = ClaimResolver.resolve(
            me: "c", own: nil,
            answers: ["a": .owned(transfer(epoch: 2, lastSeq: 5)), "b": .replica(owner: "a", transfer(epoch: 2, lastSeq: 4))],
            isMember: { _ in true })
        #expect(decision == .handOff(transfer(epoch: 3, lastSeq: 5)))
    }

    @Test func theBestReplicaOfADeadOwnerIsPromoted() {
        let decision = ClaimResolver.resolve(
            me: "b", own: ("a", transfer(epoch: 2, lastSeq: 7)),
            answers: ["c": .replica(owner: "a", transfer(epoch: 1, lastSeq: 9)), "d": .none],
            isMember: { $0 != "a" })
        #expect(decision == .promote(transfer(epoch: 3, lastSeq: 7)), "the newest epoch wins over a longer stale log")
    }

    @Test func aMemberThatCannotBeAskedMeansWait() {
        guard case .retry = ClaimResolver.resolve(me: "c", own: nil, answers: ["a": .unreachable, "b": .none], isMember: { _ in true })
        else {
            Issue.record("must not guess while a member that may hold the room is silent")
            return
        }
        #expect(ClaimResolver.resolve(me: "c", own: nil, answers: ["a": .unreachable], isMember: { $0 != "a" }) == .load(epoch: 1))
    }

    @Test func aLiveReplicaOwnerThatWasNotAskedIsAskedFirst() {
        let decision = ClaimResolver.resolve(
            me: "c", own: nil, answers: ["b": .replica(owner: "z", transfer(epoch: 1, lastSeq: 2))], isMember: { _ in true })
        #expect(decision == .ask(["z"]))
    }

    @Test func nothingAnywhereIsAColdLoad() {
        #expect(ClaimResolver.resolve(me: "c", own: nil, answers: ["a": .none, "b": .none], isMember: { _ in true }) == .load(epoch: 1))
    }
}
