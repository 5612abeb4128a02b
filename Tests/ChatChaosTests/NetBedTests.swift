import Foundation
import Testing

@testable import ChatChaos

@Suite struct NetBedTests {
    let upOutput = """
        {"name": "cc42", "bridge": "cc42-br", "gateway": "10.77.9.1",
         "hosts": [{"index": 2, "netns": "cc42-h2", "address": "10.77.9.12", "veth": "cc42-v2"},
                   {"index": 1, "netns": "cc42-h1", "address": "10.77.9.11", "veth": "cc42-v1"}]}
        """

    @Test func argumentsFollowTheNetbedCLI() {
        let bed = NetBed(script: "tests/netbed/netbed.py", name: "cc42")
        #expect(
            bed.upArguments(hosts: 3, subnet: 9, owner: 4242)
                == [
                    "tests/netbed/netbed.py", "up", "--name", "cc42", "--hosts", "3", "--owner-pid", "4242", "--sweep-prefix", "cc",
                    "--subnet", "9",
                ])
        #expect(
            bed.upArguments(hosts: 3, subnet: nil, owner: 7)
                == ["tests/netbed/netbed.py", "up", "--name", "cc42", "--hosts", "3", "--owner-pid", "7", "--sweep-prefix", "cc"])
        #expect(bed.downArguments() == ["tests/netbed/netbed.py", "down", "--name", "cc42"])
        #expect(
            bed.faultArguments(kind: .partition, host: 2)
                == ["tests/netbed/netbed.py", "fault", "--name", "cc42", "--kind", "partition", "--host", "2"])
        #expect(bed.faultArguments(kind: .loss, host: 1, peers: [2, 3]).suffix(2) == ["--peers", "2,3"])
        #expect(bed.healArguments(host: 2) == ["tests/netbed/netbed.py", "heal", "--name", "cc42", "--host", "2"])
        #expect(NetBed.defaultName(pid: 123_456) == "cc456")
    }

    @Test func upOutputParsesAndBadOutputIsAClearError() throws {
        let info = try NetBed.parseUp(Data(upOutput.utf8)).sortedHosts
        #expect(info.gateway == "10.77.9.1")
        #expect(info.hosts.map(\.address) == ["10.77.9.11", "10.77.9.12"])
        #expect(throws: NetBed.Failure.self) { try NetBed.parseUp(Data("Traceback ...".utf8)) }
        #expect(throws: NetBed.Failure.self) { try NetBed.parseUp(Data(#"{"name":"x","gateway":"g","hosts":[]}"#.utf8)) }
    }

    @Test func bedLayoutPutsNodeIOnHostIWithTheSamePortsAndRedisOnTheGateway() throws {
        let layout = ClusterLayout.bed(try NetBed.parseUp(Data(upOutput.utf8)))
        #expect(layout.nodes.map(\.id) == ["n1", "n2"])
        #expect(layout.endpoints == [Endpoint(host: "10.77.9.11", port: 8080), Endpoint(host: "10.77.9.12", port: 8080)])
        #expect(Set(layout.nodes.map(\.gossipPort)).count == 1 && Set(layout.nodes.map(\.internalPort)).count == 1)
        let command = layout.command(node: 1, nodeBinary: "/b/chat-node", configPath: "/w/cluster.json", ipBinary: "/usr/sbin/ip")
        #expect(command.executable == "/usr/sbin/ip")
        #expect(command.arguments == ["netns", "exec", "cc42-h2", "/b/chat-node", "serve", "--config", "/w/cluster.json", "--node", "n2"])
        let data = try layout.clusterFile(secret: "s", redisPort: 6400, historyLimit: 77)
        let file = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(file["redis"] as? String == "redis://10.77.9.1:6400")
        #expect((file["history"] as? [String: Int])?["limit"] == 77)
        let nodes = try #require(file["nodes"] as? [[String: Any]])
        #expect(nodes.map { $0["host"] as? String } == ["10.77.9.11", "10.77.9.12"])
    }

    @Test func loopbackLayoutRunsNodesDirectly() throws {
        let layout = ClusterLayout.loopback(count: 2, tcp: [1, 2, 3, 4], udp: [5, 6])
        #expect(layout.endpoints == [Endpoint(host: "127.0.0.1", port: 1), Endpoint(host: "127.0.0.1", port: 3)])
        let command = layout.command(node: 0, nodeBinary: "/b/chat-node", configPath: "/c", ipBinary: "ip")
        #expect(command.executable == "/b/chat-node" && command.arguments == ["serve", "--config", "/c", "--node", "n1"])
        let file = try #require(
            try JSONSerialization.jsonObject(with: layout.clusterFile(secret: "s", redisPort: nil, historyLimit: 5)) as? [String: Any])
        #expect(file["redis"] is NSNull)
    }
}
