public enum GossipError: Error, Equatable {
    /// Our own record (id, address, metadata) does not fit in one datagram.
    case memberRecordTooLarge(Int)
}
