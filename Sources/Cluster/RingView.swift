import Ring
import Synchronization

/// This node's current ring, shared by the cluster (which replaces it when membership changes)
/// and the room owner (which checks ownership under its own lock on every request).
final class RingView: Sendable {
    private let ring: Mutex<HashRing>

    init(_ ring: HashRing) {
        self.ring = Mutex(ring)
    }

    var current: HashRing {
        get { ring.withLock { $0 } }
        set { ring.withLock { $0 = newValue } }
    }

    func owner(of room: String) -> String? {
        ring.withLock { $0.owner(of: room) }
    }
}
