import ChatCore
import RoomGroup
import Synchronization
import Testing

@testable import Cluster

/// The leader's side of replicated presence (`OwnedRoom+GroupPresence`): what it tells its group
/// as sessions come and go, and what subscribed nodes hear as the changes commit.
@Suite("Replicated presence at the leader")
struct GroupPresenceTests {
    final class Recorder: RoomSubscriber, @unchecked Sendable {
        let nodeID: String
        let boot = "b1"
        let isActive = true
        let frames = Mutex<[InternalFrame]>([])
        init(_ node: String) { nodeID = node }
        func push(_ frame: InternalFrame) { frames.withLock { $0.append(frame) } }
    }

    final class Updates: @unchecked Sendable {
        var list: [PresenceUpdate] = []
    }

    static func hub() -> (OwnedRoom, Updates) {
        let hub = OwnedRoom(name: "r", machine: RoomStateMachine(room: "r"), epoch: 0, sessions: [])
        let updates = Updates()
        hub.presenceSink = { key, update in if OwnedRoom.presenceNode(key).node == "n2" { updates.list.append(update) } }
        return (hub, updates)
    }

    @Test("first session of a node states its whole set, later ones join and leave, a restart or loss empties it")
    func proposals() {
        let (hub, updates) = Self.hub()
        hub.setSessions(node: "n2", boot: "b1", user: "ann", count: 1)
        hub.setSessions(node: "n2", boot: "b1", user: "bob", count: 1)
        hub.setSessions(node: "n2", boot: "b1", user: "ann", count: 2)  // a second tab: nothing
        hub.setSessions(node: "n2", boot: "b1", user: "ann", count: 0)
        hub.setSessions(node: "n2", boot: "b2", user: "cy", count: 1)  // the node restarted
        hub.dropSessions(of: "n2")
        #expect(updates.list == [.exactly(["ann"]), .join("bob"), .leave("ann"), .exactly([]), .exactly(["cy"]), .exactly([])])
        // None of it is presence yet: only commits are.
        #expect(hub.machine.memberNames == [])
    }

    @Test("committed changes reach subscribers as join and leave of distinct users")
    func committedEvents() {
        let (hub, _) = Self.hub()
        let subscriber = Recorder("n1")
        hub.subscribers["n1"] = subscriber
        hub.applyCommittedPresence([
            PresenceChange(node: "n1", user: "ann", present: true), PresenceChange(node: "n2", user: "ann", present: true),
            PresenceChange(node: "n2", user: "bob", present: true), PresenceChange(node: "n1", user: "ann", present: false),
        ])
        hub.applyCommittedPresence([PresenceChange(node: "n2", user: "ann", present: false)])
        let events = subscriber.frames.withLock { $0 }.compactMap { frame -> String? in
            guard case .presence(let event) = frame else { return nil }
            return "\(event.kind) \(event.user) \(event.members)"
        }
        #expect(events == ["join ann 1", "join bob 2", "leave ann 1"])
        #expect(hub.machine.memberNames == ["bob"])
    }

    @Test("a joiner's own reply lists it before its arrival commits")
    func joinerListed() {
        let (hub, _) = Self.hub()
        var members: [String] = []
        hub.join(user: "zed", since: nil, subscriber: Recorder("n3")) { members = $0.members }
        #expect(members == ["zed"])
    }
}
