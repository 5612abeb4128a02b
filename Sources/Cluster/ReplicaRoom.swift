import ChatCore

/// A room this node holds for another: as the successor of its owner (replication), or as its
/// last owner after sealing it for a new one. Holds everything a new owner needs to continue it.
struct ReplicaRoom: Sendable {
    /// The node this state is held for (the owner replicating it, or the node it was sealed for).
    var owner: String
    var epoch: UInt64
    var machine: RoomStateMachine
    var sessions: SessionTable
    var boots: [String: String]

    init(owner: String, transfer: RoomTransfer, configuration: RoomStateMachine.Configuration) {
        self.owner = owner
        self.epoch = transfer.epoch
        self.machine = RoomStateMachine(room: transfer.room, configuration: configuration, snapshot: transfer.snapshot)
        self.sessions = SessionTable(transfer.sessions)
        self.boots = SessionTable.boots(transfer.sessions)
    }

    init(owner: String, room: OwnedRoom, configuration: RoomStateMachine.Configuration) {
        self.init(owner: owner, transfer: room.transfer, configuration: configuration)
    }

    var held: ReplicaRules.Held { ReplicaRules.Held(epoch: epoch, lastSeq: machine.lastSeq) }

    var transfer: RoomTransfer {
        RoomTransfer(room: machine.room, epoch: epoch, snapshot: machine.snapshot, sessions: sessions.list(boots: boots))
    }
}
