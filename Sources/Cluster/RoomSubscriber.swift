import ChatCore
import NIOCore

/// A node subscribed to a room at its owner: where the owner pushes the room's traffic.
///
/// The owner calls `push` under its room lock, so pushes (and the replies it sends through the
/// same subscriber) reach the node in the owner's order.
public protocol RoomSubscriber: AnyObject, Sendable {
    var nodeID: String { get }
    /// False once the subscriber's link has closed: the owner never registers such a subscriber
    /// (a request that was still running when its link dropped must not overwrite the
    /// subscription the node made again on its new link).
    var isActive: Bool { get }
    /// The boot id of the subscribed node's process ("" while unknown).
    var boot: String { get }
    /// Orders the links one node subscribes over: a link this owner accepted later has a higher
    /// number (see `RoomOwner.checkCurrent`). 0 for subscribers without a link.
    var link: UInt64 { get }
    func push(_ frame: InternalFrame)
    /// Pushes `frame`, encoding it into `encoded` if that is still nil and the subscriber needs
    /// bytes: a message fanned out to several nodes is encoded once.
    func push(_ frame: InternalFrame, encoded: inout ByteBuffer?)
}

extension RoomSubscriber {
    public func push(_ frame: InternalFrame, encoded: inout ByteBuffer?) { push(frame) }
    public var link: UInt64 { 0 }
}

/// This node subscribed to a room it owns itself: pushes are direct calls, no link.
final class LocalSubscriber: RoomSubscriber {
    let nodeID: String
    let local: LocalRooms
    let onMoved: @Sendable (String) -> Void
    let boot: String
    var isActive: Bool { true }

    init(nodeID: String, boot: String, local: LocalRooms, onMoved: @escaping @Sendable (String) -> Void) {
        self.nodeID = nodeID
        self.boot = boot
        self.local = local
        self.onMoved = onMoved
    }

    func push(_ frame: InternalFrame) {
        switch frame {
        case .message(let message): local.deliver(message, from: nodeID)
        case .presence(let event): local.deliver(event, from: nodeID)
        case .moved(let room): onMoved(room)
        default: break
        }
    }
}
