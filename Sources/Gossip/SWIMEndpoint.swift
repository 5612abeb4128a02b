/// What an endpoint asks its I/O shell to do.
public enum SWIMEndpointOutput: Sendable, Hashable {
    /// Write these bytes (payload and HMAC tag, at most `maxDatagramSize`) as one datagram.
    case datagram([UInt8], to: GossipAddress)
    case memberChanged(GossipMember)
}

/// The whole datagram path without I/O: a `SWIMInstance`, the codec and the HMAC framing.
/// Datagrams in, datagrams out. The NIO shell (`GossipService`) and the simulation both run
/// exactly this, so the simulation exercises the real bytes.
public struct SWIMEndpoint: Sendable {
    public var instance: SWIMInstance
    public let authenticator: GossipAuthenticator

    /// Datagrams dropped because their HMAC tag did not verify or they did not decode.
    public private(set) var badDatagrams: UInt64 = 0
    public private(set) var datagramsSent: UInt64 = 0
    public private(set) var datagramsReceived: UInt64 = 0
    /// Largest datagram sent so far, tag included.
    public private(set) var largestDatagram = 0

    public init(instance: SWIMInstance, secret: String) {
        self.instance = instance
        self.authenticator = GossipAuthenticator(secret: secret)
    }

    public var nextDeadline: SWIMInstant { instance.nextDeadline }

    public mutating func tick(now: SWIMInstant) -> [SWIMEndpointOutput] {
        encode(instance.onTick(now: now))
    }

    public mutating func leave(now: SWIMInstant) -> [SWIMEndpointOutput] {
        encode(instance.onLeave(now: now))
    }

    public mutating func remove(_ id: String, now: SWIMInstant) -> [SWIMEndpointOutput] {
        encode(instance.onRemove(id, now: now))
    }

    /// A datagram received from `source`. Unauthenticated or malformed datagrams are counted in
    /// `badDatagrams` and otherwise ignored.
    public mutating func receive(_ datagram: [UInt8], from source: GossipAddress, now: SWIMInstant) -> [SWIMEndpointOutput] {
        datagramsReceived += 1
        guard datagram.count <= 65_535, let payload = authenticator.open(datagram),
            let message = try? SWIMCodec.decode(payload)
        else {
            badDatagrams += 1
            return []
        }
        return encode(instance.onMessage(message, from: source, now: now))
    }

    private mutating func encode(_ directives: [SWIMDirective]) -> [SWIMEndpointOutput] {
        var out: [SWIMEndpointOutput] = []
        out.reserveCapacity(directives.count)
        for d in directives {
            switch d {
            case .send(let message, let to):
                let bytes = authenticator.seal(SWIMCodec.encode(message))
                datagramsSent += 1
                largestDatagram = max(largestDatagram, bytes.count)
                out.append(.datagram(bytes, to: to))
            case .memberChanged(let m):
                out.append(.memberChanged(m))
            }
        }
        return out
    }
}
