import ArgumentParser
import ChatCore
import Foundation
import NIOHTTP1

/// How an operator command reaches the cluster: any node's client address and the admin token.
struct AdminOptions: ParsableArguments {
    @Option(help: "A node's client address.") var url: String = "http://127.0.0.1:8081"
    @Option(
        help: """
            The admin token (default: $CHAT_ADMIN_TOKEN, else derived from the cluster secret of --config or --secret, \
            else of ./cluster.example.json, the local cluster's file).
            """)
    var adminToken: String?
    @Option(help: "Cluster file whose secret the admin token is derived from.") var config: String?
    @Option(help: "The cluster secret the admin token is derived from.") var secret: String?

    func client() throws -> AdminClient {
        var token = adminToken ?? ProcessInfo.processInfo.environment["CHAT_ADMIN_TOKEN"]
        if token == nil {
            var secret = self.secret
            if secret == nil, let config { secret = try ClusterFile.load(path: config).secret }
            if secret == nil, config == nil, FileManager.default.fileExists(atPath: "cluster.example.json") {
                secret = try ClusterFile.load(path: "cluster.example.json").secret
            }
            token = AdminToken(secret: secret ?? ClusterFile.developmentSecret).value
        }
        return try AdminClient(url: url, token: token)
    }
}

extension ChatNodeCommand {
    /// `chat-node members`: the members a node sees; `members remove ID`.
    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the cluster's members, or remove one that is dead for good.",
            subcommands: [List.self, Remove.self], defaultSubcommand: List.self)

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Members as the node at --url sees them.")
            @OptionGroup var admin: AdminOptions
            @Flag(help: "Print the node's /cluster answer as JSON.") var json = false

            func run() async throws {
                let (status, body) = try await admin.client().request(.GET, "/cluster")
                guard status == 200 else { throw AdminClientError.refused(status, body) }
                if json { return print(body.text) }
                var rows = [["ID", "STATUS", "ADDRESS", "LINK", "LEADS"]]
                for member in body["members"]?.arrayValue ?? [] {
                    let address = "\(member["host"]?.stringValue ?? "?"):\(member["port"]?.int64Value.map(String.init) ?? "?")"
                    let link = member["self"] == .bool(true) ? "self" : (member["link"]?.stringValue ?? "")
                    rows.append([
                        member["id"]?.stringValue ?? "?", member["status"]?.stringValue ?? "?", address, link,
                        member["rooms"]?.int64Value.map(String.init) ?? "-",
                    ])
                }
                print(Table.render(rows))
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Remove a member that is dead for good from the roster (its rooms move to the others).",
                discussion: """
                    Refused while the member is alive or suspect (a running node leaves by itself on SIGTERM), and
                    refused unless the node asked reaches a majority of the roster. --force skips that second check:
                    rooms whose majority is gone then need `chat-node rooms recover`, and messages acked by the lost
                    majority may be lost.
                    """)
            @OptionGroup var admin: AdminOptions
            @Argument(help: "The member's id.") var id: String
            @Flag(help: "Remove even when the node asked does not reach a majority of the roster (can lose acked messages).")
            var force = false

            func run() async throws {
                let path = "/admin/members/\(id)/remove" + (force ? "?force=true" : "")
                let (status, body) = try await admin.client().request(.POST, path)
                guard status == 200 else { throw AdminClientError.refused(status, body) }
                print("removed \(id) (it was \(body["was"]?.stringValue ?? "dead")); its rooms now move to the other members")
            }
        }
    }

    /// `chat-node rooms recover ROOM…`.
    struct Rooms: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Operate on rooms.", subcommands: [Recover.self])

        struct Recover: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Rebuild rooms whose group lost a majority of its replicas for good.",
                discussion: """
                    For each room, asks every live member for its replica, picks the one with the highest committed
                    seq, and rebuilds the group there from its committed log and the history cache. Seqs from the
                    first one that replica does not hold through --skip beyond the last one known are never used
                    again: messages acked there by the lost majority may be lost, and the command prints that range.
                    Refused while the group still has a majority that may come back.
                    """)
            @OptionGroup var admin: AdminOptions
            @Option(help: "Seqs left unused after the last one known (the lost majority may have acked some).") var skip: Int = 1000
            @Flag(help: "Every room a live member lists as having lost its majority for good (/cluster's quorumLostRooms).")
            var all = false
            @Argument(help: "The rooms.") var rooms: [String] = []

            func validate() throws {
                guard !rooms.isEmpty || all else { throw ValidationError("name at least one room, or --all") }
                guard skip >= 0 else { throw ValidationError("--skip must be 0 or more") }
            }

            func run() async throws {
                let client = try admin.client()
                let (status, cluster) = try await client.request(.GET, "/cluster")
                guard status == 200 else { throw AdminClientError.refused(status, cluster) }
                let nodes = (cluster["members"]?.arrayValue ?? []).compactMap { member -> (String, String, Int)? in
                    guard member["status"]?.stringValue == "alive" || member["status"]?.stringValue == "suspect",
                        let id = member["id"]?.stringValue, let host = member["host"]?.stringValue, let port = member["port"]?.int64Value
                    else { return nil }
                    return (id, host, Int(port))
                }
                var rooms = self.rooms
                if all {
                    var lost: Set<String> = []
                    for (_, host, port) in nodes {
                        guard let (status, view) = try? await client.at(host: host, port: port).request(.GET, "/cluster"), status == 200
                        else { continue }
                        for room in view["groups"]?["quorumLostRooms"]?.arrayValue ?? [] {
                            if let name = room.stringValue { lost.insert(name) }
                        }
                    }
                    rooms += lost.subtracting(rooms).sorted()
                    if rooms.isEmpty { return print("no live member lists a room that lost its majority") }
                }
                var failed = false
                for room in rooms {
                    do {
                        print(try await recover(room, client: client, nodes: nodes))
                    } catch {
                        failed = true
                        print("\(room): not recovered: \(error)")
                    }
                }
                if failed { throw ExitCode.failure }
            }

            /// Finds the replica with the highest committed seq and recovers the room there.
            func recover(_ room: String, client: AdminClient, nodes: [(String, String, Int)]) async throws -> String {
                var best: (node: String, client: AdminClient, seq: Int64, index: Int64)?
                for (id, host, port) in nodes {
                    let node = client.at(host: host, port: port)
                    guard let (status, replica) = try? await node.request(.GET, "/rooms/\(room)/replica"), status == 200,
                        let seq = replica["committedSeq"]?.int64Value, let index = replica["commitIndex"]?.int64Value
                    else { continue }
                    if best == nil || (seq, index) > (best!.seq, best!.index) { best = (id, node, seq, index) }
                }
                guard let best else { throw AdminClientError("no live member holds a replica of \(room)") }
                let (status, body) = try await best.client.request(.POST, "/admin/rooms/\(room)/recover?skip=\(skip)")
                guard status == 200, let lostAfter = body["lostAfter"]?.int64Value, let resumeAfter = body["resumeAfter"]?.int64Value else {
                    throw AdminClientError.refused(status, body)
                }
                return
                    "\(room): recovered on \(best.node) through seq \(lostAfter); seqs \(lostAfter + 1)…\(resumeAfter) are skipped"
                    + " (messages acked there by the lost majority may be lost); new messages start at \(resumeAfter + 1)"
            }
        }
    }
}

extension AdminClientError {
    /// A node's refusal, with its JSON reason.
    static func refused(_ status: Int, _ body: JSONValue) -> AdminClientError {
        AdminClientError("refused (HTTP \(status)): \(body["message"]?.stringValue ?? body.text)")
    }
}

extension JSONValue {
    fileprivate var text: String {
        var writer = JSONWriter()
        write(into: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

/// Left-aligned columns, two spaces apart (in the manner of `serf members`).
enum Table {
    static func render(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
