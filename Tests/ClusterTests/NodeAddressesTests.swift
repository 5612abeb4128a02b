import Cluster
import Testing

/// Bind and advertise addresses: what each listener binds and advertises, and what is refused
/// (with a message that says what to set).
@Suite("Node addresses")
struct NodeAddressesTests {
    @Test("a node bound to 0.0.0.0 advertises --advertise on every listener")
    func bindAllAdvertiseOne() throws {
        let a = try NodeAddresses.resolve(
            nodeID: "n1", host: nil, bind: "0.0.0.0", advertise: "10.0.0.5", peers: ["10.0.0.6", "10.0.0.7"])
        for l in [a.client, a.links, a.gossip] {
            #expect(l == .init(bind: "0.0.0.0", advertise: "10.0.0.5"))
        }
    }

    @Test("the file's host is bound and advertised unless bind or advertise say otherwise")
    func hostIsDefault() throws {
        let a = try NodeAddresses.resolve(nodeID: "n1", host: "10.0.0.5", bind: nil, advertise: nil, peers: ["10.0.0.6"])
        #expect(a.links == .init(bind: "10.0.0.5", advertise: "10.0.0.5"))
        let b = try NodeAddresses.resolve(nodeID: "n1", host: "10.0.0.5", bind: "0.0.0.0", advertise: nil, peers: ["10.0.0.6"])
        #expect(b.gossip == .init(bind: "0.0.0.0", advertise: "10.0.0.5"))
    }

    @Test("per-listener settings win over the node's")
    func perListener() throws {
        let a = try NodeAddresses.resolve(
            nodeID: "n1", host: "10.0.0.5", bind: "0.0.0.0", advertise: nil,
            client: .init(bind: "127.0.0.1", advertise: "chat.example.org"),
            gossip: .init(advertise: "192.168.1.5"), peers: ["10.0.0.6"])
        #expect(a.client == .init(bind: "127.0.0.1", advertise: "chat.example.org"))
        #expect(a.links == .init(bind: "0.0.0.0", advertise: "10.0.0.5"))
        #expect(a.gossip == .init(bind: "0.0.0.0", advertise: "192.168.1.5"))
    }

    @Test("advertising a wildcard is refused, naming the option to set")
    func wildcardRefused() {
        for wildcard in ["0.0.0.0", "::"] {
            #expect {
                try NodeAddresses.resolve(nodeID: "n1", host: wildcard, bind: nil, advertise: nil, peers: [])
            } throws: { error in
                "\(error)".contains("--advertise") && "\(error)".contains(wildcard)
            }
        }
    }

    @Test("advertising loopback to a peer that is not on loopback is refused; an all-loopback cluster is fine")
    func loopbackToRemoteRefused() throws {
        #expect {
            try NodeAddresses.resolve(nodeID: "n2", host: "127.0.0.1", bind: nil, advertise: nil, peers: ["127.0.0.1", "10.0.0.7"])
        } throws: { error in
            "\(error)".contains("10.0.0.7") && "\(error)".contains("--advertise")
        }
        #expect(throws: NodeAddressError.self) {
            try NodeAddresses.resolve(nodeID: "n2", host: "localhost", bind: nil, advertise: nil, peers: ["chat-1.example.org"])
        }
        let local = try NodeAddresses.resolve(
            nodeID: "n2", host: "127.0.0.1", bind: nil, advertise: nil, peers: ["127.0.0.1", "localhost"])
        #expect(local.gossip.advertise == "127.0.0.1")
    }

    @Test("a client listener on loopback behind a proxy shows the links' host instead of refusing")
    func clientLoopbackShown() throws {
        let a = try NodeAddresses.resolve(
            nodeID: "n1", host: "10.0.0.5", bind: nil, advertise: nil, client: .init(bind: "127.0.0.1"), peers: ["10.0.0.6"])
        #expect(a.client == .init(bind: "127.0.0.1", advertise: "10.0.0.5"))
    }

    @Test("loopback and wildcard recognition")
    func recognition() {
        #expect(NodeAddresses.isLoopback("127.0.0.1"))
        #expect(NodeAddresses.isLoopback("127.1.2.3"))
        #expect(NodeAddresses.isLoopback("::1"))
        #expect(NodeAddresses.isLoopback("LOCALHOST"))
        #expect(!NodeAddresses.isLoopback("10.0.0.1"))
        #expect(!NodeAddresses.isLoopback("127.example.org"))
        #expect(NodeAddresses.isWildcard("0.0.0.0"))
        #expect(!NodeAddresses.isWildcard("10.0.0.1"))
    }
}
