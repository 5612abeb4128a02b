import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The gossip UDP socket, opened and bound here so that sends can bypass the NIO channel.
///
/// Why: NIO's datagram channel closes itself on any send error other than `EMSGSIZE` and
/// `EHOSTUNREACH` (`PendingDatagramWritesManager.handleError`), and a real network produces
/// others: a blackhole route gives `EINVAL`, a missing route `ENETUNREACH`, a firewall `EPERM`.
/// One such error used to close the gossip socket for every destination, and the node stayed
/// alone for good. So the channel only reads (it gets the bound descriptor), and datagrams are
/// sent with `sendto` on a duplicate of the same descriptor (same socket, same source port):
/// an error concerns one datagram to one destination, is counted, and gossip to every other
/// destination goes on.
///
/// Sends are made on the gossip event loop only. The socket is non-blocking: a full send buffer
/// (`EAGAIN`) drops the datagram, as the network might have.
final class GossipSocket: Sendable {
    /// The descriptor this object owns (a `dup` of the one handed to the NIO channel).
    private let sendDescriptor: CInt

    /// Opens a UDP socket bound to `host:port`; returns it with the descriptor to hand to NIO
    /// (which owns and closes that one).
    static func bind(host: String, port: Int) throws -> (GossipSocket, channelDescriptor: CInt) {
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let family: CInt
        switch address {
        case .v4: family = AF_INET
        case .v6: family = AF_INET6
        default: throw GossipError.cannotBind("\(host):\(port) is not an IP address")
        }
        #if canImport(Darwin)
            let fd = socket(family, SOCK_DGRAM, 0)
        #else
            let fd = socket(family, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        #endif
        guard fd >= 0 else { throw GossipError.cannotBind("socket(): \(String(cString: strerror(errno)))") }
        // No SO_REUSEADDR: on Linux it would let a second node bind the same UDP port silently.
        let bound = address.withSockAddr { pointer, size in systemBind(fd, pointer, socklen_t(size)) }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw GossipError.cannotBind("\(host):\(port): \(reason)")
        }
        let duplicate = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard duplicate >= 0 else {
            close(fd)
            throw GossipError.cannotBind("dup(): \(String(cString: strerror(errno)))")
        }
        _ = fcntl(duplicate, F_SETFL, fcntl(duplicate, F_GETFL) | O_NONBLOCK)
        return (GossipSocket(sendDescriptor: duplicate), fd)
    }

    private init(sendDescriptor: CInt) {
        self.sendDescriptor = sendDescriptor
    }

    deinit {
        close(sendDescriptor)
    }

    /// Sends one datagram. Returns 0, or the `errno` of a failed send (the datagram is lost).
    func send(_ bytes: [UInt8], to address: SocketAddress) -> CInt {
        let result = bytes.withUnsafeBytes { buffer in
            address.withSockAddr { pointer, size in
                sendto(sendDescriptor, buffer.baseAddress, buffer.count, CInt(MSG_NOSIGNAL), pointer, socklen_t(size))
            }
        }
        return result < 0 ? errno : 0
    }
}

#if canImport(Glibc)
    private let systemBind = Glibc.bind
#elseif canImport(Musl)
    private let systemBind = Musl.bind
#elseif canImport(Darwin)
    private let systemBind = Darwin.bind
#endif
