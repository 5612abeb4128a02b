/// What the state machine asks its shell to do.
public enum SWIMDirective: Sendable, Hashable {
    /// Send this message (the shell encodes it, adds the HMAC tag and writes one datagram).
    case send(SWIMMessage, to: GossipAddress)
    /// A member's status, incarnation or metadata changed in this node's view (also the first time
    /// a member is seen, and for this node itself).
    case memberChanged(GossipMember)
}
