import NIOCore
import Testing

@testable import Gossip

/// DNS names are resolved off the event loop and again every few seconds; IP literals never.
@Suite("Gossip resolver")
struct ResolverTests {
    static func t(_ s: Int64) -> SWIMInstant { SWIMInstant(nanoseconds: s * 1_000_000_000) }

    @Test("an IP literal is used at once and never resolved")
    func literal() throws {
        var r = GossipResolver()
        let target = GossipAddress(host: "10.1.2.3", port: 7946)
        #expect(r.address(of: target, now: Self.t(1)) == .resolved(try SocketAddress(ipAddress: "10.1.2.3", port: 7946), refresh: false))
        #expect(r.address(of: target, now: Self.t(100)) == .resolved(try SocketAddress(ipAddress: "10.1.2.3", port: 7946), refresh: false))
    }

    @Test("a name is requested once, used once resolved, and resolved again after the refresh interval")
    func name() throws {
        var r = GossipResolver()
        let target = GossipAddress(host: "chat-2.example.org", port: 7946)
        #expect(r.address(of: target, now: Self.t(1)) == .pending(request: true))
        #expect(r.address(of: target, now: Self.t(1)) == .pending(request: false))
        let first = try SocketAddress(ipAddress: "10.0.0.2", port: 7946)
        r.store(first, for: target, now: Self.t(2))
        #expect(r.address(of: target, now: Self.t(3)) == .resolved(first, refresh: false))
        // Stale: still used, and one refresh is asked for.
        #expect(r.address(of: target, now: Self.t(8)) == .resolved(first, refresh: true))
        #expect(r.address(of: target, now: Self.t(8)) == .resolved(first, refresh: false))
        // The name now points elsewhere (a replaced host).
        let moved = try SocketAddress(ipAddress: "10.0.0.9", port: 7946)
        r.store(moved, for: target, now: Self.t(9))
        #expect(r.address(of: target, now: Self.t(10)) == .resolved(moved, refresh: false))
        // A failed lookup keeps the last good address.
        _ = r.address(of: target, now: Self.t(15))
        r.store(nil, for: target, now: Self.t(15))
        #expect(r.address(of: target, now: Self.t(16)) == .resolved(moved, refresh: false))
    }

    @Test("a member that stops answering has its name resolved again at the next send")
    func invalidate() throws {
        var r = GossipResolver()
        let target = GossipAddress(host: "chat-3.example.org", port: 7946)
        _ = r.address(of: target, now: Self.t(1))
        let old = try SocketAddress(ipAddress: "10.0.0.3", port: 7946)
        r.store(old, for: target, now: Self.t(1))
        #expect(r.address(of: target, now: Self.t(2)) == .resolved(old, refresh: false))
        r.invalidate(target)
        #expect(r.address(of: target, now: Self.t(2)) == .resolved(old, refresh: true))
        #expect(r.address(of: target, now: Self.t(2)) == .resolved(old, refresh: false))
    }
}
