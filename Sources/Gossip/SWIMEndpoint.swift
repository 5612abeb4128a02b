/// What an endpoint asks its I/O shell to do.
public enum SWIMEndpointOutput: Sendable, Hashable {
    /// Write these bytes (sealed by `GossipSealer`, at most `maxDatagramSize`) as one datagram.
    case datagram([UInt8], to: GossipAddress)
    case memberChanged(GossipMember)
}

/// The whole datagram path without I/O: a `SWIMInstance`, the codec, the sealing
/// (`GossipSealer`, AES-GCM) and the replay filter. Datagrams in, datagrams out. The NIO shell
/// (`GossipService`) and the simulation both run exactly this, so the simulation exercises the
/// real bytes.
///
/// A received datagram larger than `maxDatagramSize` is dropped before any cryptography; one
/// whose tag does not verify, or that does not decode, counts in `badDatagrams`; one sealed
/// outside the replay window or whose nonce was seen counts in `replayedDatagrams`.
public struct SWIMEndpoint: Sendable {
    public var instance: SWIMInstance
    public private(set) var sealer: GossipSealer
    public private(set) var replays: ReplayFilter
    /// Wall-clock time minus the `SWIMInstant` clock, in nanoseconds: datagrams carry wall-clock
    /// times, which other nodes compare with theirs.
    public let wallClockOffset: Int64

    /// Datagrams dropped because they were too large, their tag did not verify or they did not decode.
    public private(set) var badDatagrams: UInt64 = 0
    /// Datagrams dropped as replays (a nonce seen before) or stale (sealed outside the window).
    public private(set) var replayedDatagrams: UInt64 = 0
    public private(set) var datagramsSent: UInt64 = 0
    public private(set) var datagramsReceived: UInt64 = 0
    /// Largest datagram sent so far, tag included.
    public private(set) var largestDatagram = 0

    /// - Parameters:
    ///   - secrets: the key ring (the first seals).
    ///   - wallClockOffset: wall-clock nanoseconds minus `SWIMInstant` nanoseconds.
    ///   - nonceSeed: where this endpoint's nonce stream starts (random in nodes).
    public init(
        instance: SWIMInstance, secrets: [String], wallClockOffset: Int64 = 0, nonceSeed: UInt64 = .random(in: .min ... .max),
        replayWindowMs: Int64 = 30_000
    ) {
        self.instance = instance
        self.sealer = GossipSealer(secrets: secrets, nonceSeed: nonceSeed)
        self.replays = ReplayFilter(windowMs: replayWindowMs)
        self.wallClockOffset = wallClockOffset
    }

    private func wallMs(_ now: SWIMInstant) -> Int64 { (now.nanoseconds &+ wallClockOffset) / 1_000_000 }

    public var nextDeadline: SWIMInstant { instance.nextDeadline }

    public mutating func tick(now: SWIMInstant) -> [SWIMEndpointOutput] {
        encode(instance.onTick(now: now), now: now)
    }

    public mutating func leave(now: SWIMInstant) -> [SWIMEndpointOutput] {
        encode(instance.onLeave(now: now), now: now)
    }

    public mutating func remove(_ id: String, now: SWIMInstant) -> [SWIMEndpointOutput] {
        encode(instance.onRemove(id, now: now), now: now)
    }

    /// A datagram received from `source`. Unauthenticated or malformed datagrams are counted in
    /// `badDatagrams` and otherwise ignored.
    public mutating func receive(_ datagram: [UInt8], from source: GossipAddress, now: SWIMInstant) -> [SWIMEndpointOutput] {
        datagramsReceived += 1
        guard datagram.count <= instance.settings.maxDatagramSize, let opened = sealer.open(datagram) else {
            badDatagrams += 1
            return []
        }
        guard replays.check(nonce: opened.nonce, sentAtMs: opened.sentAtMs, nowMs: wallMs(now)) == .fresh else {
            replayedDatagrams += 1
            return []
        }
        guard let message = try? SWIMCodec.decode(opened.payload) else {
            badDatagrams += 1
            return []
        }
        return encode(instance.onMessage(message, from: source, now: now), now: now)
    }

    private mutating func encode(_ directives: [SWIMDirective], now: SWIMInstant) -> [SWIMEndpointOutput] {
        let sentAt = wallMs(now)
        var out: [SWIMEndpointOutput] = []
        out.reserveCapacity(directives.count)
        for d in directives {
            switch d {
            case .send(let message, let to):
                let bytes = sealer.seal(SWIMCodec.encode(message), sentAtMs: sentAt)
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
