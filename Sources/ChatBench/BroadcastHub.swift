import ChatCore
import Foundation
import NIOCore
import NIOWebSocket
import Synchronization

/// The broadcast server's rooms: for each room name, a seq counter and its members grouped by
/// event loop. That is all the "room logic" there is: no history, no presence, no idempotency.
///
/// `broadcast` numbers the message (the room's next seq), encodes its `message` frame once, and,
/// still holding the lock, queues one delivery task per event loop that has members: holding the
/// lock while queuing keeps every loop's deliveries in seq order.
final class BroadcastHub: Sendable {
    private struct Group {
        let outbox: LoopOutbox
        var members: [NIOLoopBound<BroadcastHandler>]
        var ids: [Int]
    }

    private struct Room {
        var seq: UInt64 = 0
        var groups: [Group] = []
    }

    private let rooms = Mutex<[String: Room]>([:])

    init() {}

    /// Adds a member (called on its loop) and returns the room's current seq.
    func join(room name: String, id: Int, handler: NIOLoopBound<BroadcastHandler>, outbox: LoopOutbox) -> UInt64 {
        rooms.withLock { rooms in
            var room = rooms.removeValue(forKey: name) ?? Room()
            if let index = room.groups.firstIndex(where: { $0.outbox === outbox }) {
                room.groups[index].members.append(handler)
                room.groups[index].ids.append(id)
            } else {
                room.groups.append(Group(outbox: outbox, members: [handler], ids: [id]))
            }
            let seq = room.seq
            rooms[name] = room
            return seq
        }
    }

    func leave(room name: String, id: Int) {
        rooms.withLock { rooms in
            guard var room = rooms.removeValue(forKey: name) else { return }
            for index in room.groups.indices {
                if let position = room.groups[index].ids.firstIndex(of: id) {
                    room.groups[index].ids.remove(at: position)
                    room.groups[index].members.remove(at: position)
                }
            }
            room.groups.removeAll { $0.ids.isEmpty }
            if !room.groups.isEmpty || room.seq > 0 { rooms[name] = room }
        }
    }

    /// Gives the message the room's next seq, writes its frame to every member; returns the seq
    /// (nil if the room has no members, which a sender that joined cannot see).
    func broadcast(room name: String, id: String, user: String, text: String) -> UInt64? {
        let ts = Int64(Date().timeIntervalSince1970 * 1000)
        return rooms.withLock { rooms -> UInt64? in
            guard rooms[name] != nil else { return nil }
            rooms[name]!.seq += 1
            let seq = rooms[name]!.seq
            let bytes = ServerFrame.message(ChatMessage(room: name, seq: seq, id: id, user: user, text: text, ts: ts)).bytes
            let frame = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: bytes))
            for group in rooms[name]!.groups {
                let outbox = group.outbox
                let members = group.members
                outbox.loop.execute { outbox.deliver(frame, to: members) }
            }
            return seq
        }
    }
}
