public enum GossipError: Error, Equatable {
    /// Our own record (id, address, metadata) does not fit in one datagram.
    case memberRecordTooLarge(Int)
    /// The gossip socket could not be opened or bound (the reason says why).
    case cannotBind(String)
}
