import ChatCore
import Cluster
import Foundation
import Gossip
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus
import Ring
import RoomGroup

/// The HTTP routes of PROTOCOL.md: the page, health, metrics, cluster and room routes.
enum HTTPRoutes {
    static func add(
        to router: Router<ChatRequestContext>, node: ChatNodeContext, registry: PrometheusCollectorRegistry, page: PageResponse
    ) {
        router.get("/") { request, _ in page.response(host: request.head.authority) }
        router.head("/") { request, _ in page.response(host: request.head.authority, head: true) }
        // A WebSocket route reached as plain HTTP: the upgrade was refused for its origin (403),
        // or the request was not an upgrade at all (426).
        for path in ["/ws", "/ws/:room/:client"] {
            router.get(RouterPath(path)) { request, _ in
                try checkOrigin(request, node: node)
                return JSONResponse.make(status: .upgradeRequired) { object in
                    object.field("code", ErrorCode.badRequest.rawValue)
                    object.field("message", "this is a WebSocket endpoint: connect with a WebSocket upgrade")
                }
            }
        }
        router.get("/healthz") { _, _ in
            JSONResponse.make { $0.field("status", "ok") }
        }
        router.get("/readyz") { _, _ in
            let ready = node.isReady
            // "starting" until it serves and has joined; "no_quorum" while it is cut off from a
            // majority of the cluster (it then answers every request `unavailable`).
            let status = ready ? "ready" : (node.cluster.hasJoined && !node.cluster.hasQuorum ? "no_quorum" : "starting")
            return JSONResponse.make(status: ready ? .ok : .serviceUnavailable) {
                $0.field("status", status)
            }
        }
        let admin = AdminToken(secret: node.configuration.secret)
        /// With `protectOperations`, the operators' routes need the admin token.
        @Sendable func operatorOnly(_ request: Request) throws {
            if node.configuration.protectOperations { try admin.check(request) }
        }
        router.get("/metrics") { request, _ in
            try operatorOnly(request)
            _ = await node.cluster.groups?.summary()
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("/cluster") { request, context in
            try operatorOnly(request)
            try spend(.read, user: nil, node: node, context: context)
            let cluster = node.cluster
            let members = cluster.members.sorted { $0.member.id < $1.member.id }
            // Asked of every live member at once: a cut-off member costs one short timeout, not one each.
            let owned = await withTaskGroup(of: (String, Int?).self) { group in
                for info in members where info.member.status == .alive || info.member.status == .suspect {
                    let id = info.member.id
                    group.addTask { (id, await cluster.roomsOwned(by: id)) }
                }
                var owned: [String: Int] = [:]
                for await (id, rooms) in group { owned[id] = rooms }
                return owned
            }
            let ring = cluster.ring
            let groups = await cluster.groups?.summary()
            return JSONResponse.make { object in
                object.field("node", node.nodeID)
                object.field("ready", node.isReady)
                object.field("quorum", cluster.hasQuorum)
                object.array("members", members) { writer, info in
                    let member = info.member
                    writer.object { m in
                        m.field("id", member.id)
                        m.field("status", member.status.rawValue)
                        m.field("incarnation", member.incarnation)
                        m.field("host", member.metadata["clientHost"] ?? member.metadata["host"] ?? member.address.host)
                        m.field("internalHost", member.metadata["host"] ?? member.address.host)
                        if let port = member.metadata["clientPort"].flatMap(Int.init) { m.field("port", port) }
                        if let port = member.metadata["internalPort"].flatMap(Int.init) { m.field("internalPort", port) }
                        m.field("gossip", member.address.description)
                        m.field("self", info.isSelf)
                        if !info.isSelf { m.field("link", info.linkUp ? "up" : "down") }
                        if let rooms = owned[member.id] { m.field("rooms", rooms) }
                    }
                }
                if let groups {
                    // This node's replicas; the room lists are cut at 100 names (the counts are whole).
                    object.field(
                        "groups",
                        object: { g in
                            g.field("replicas", groups.replicas)
                            g.field("leading", groups.leading)
                            g.field("withoutMajority", groups.withoutMajority.count)
                            g.array("withoutMajorityRooms", Array(groups.withoutMajority.prefix(100))) { $0.string($1) }
                            g.field("quorumLost", groups.quorumLost.count)
                            g.array("quorumLostRooms", Array(groups.quorumLost.prefix(100))) { $0.string($1) }
                        })
                }
                object.field("ringSize", ring.members.count)
                object.field("virtualNodes", ring.virtualNodes)
            }
        }
        // Groups mode: this node's replica of the room's group, as it sees it (for operators and
        // tests; 404 when it holds none, or when rooms are not groups).
        router.get("/rooms/:room/replica") { request, context in
            try operatorOnly(request)
            let room = try roomParameter(context)
            try spend(.read, user: nil, node: node, context: context)
            guard let groups = node.cluster.groups, let status = await groups.status(of: room) else {
                throw ProtocolError(.notFound, "\(node.cluster.nodeID) holds no replica of \(room)")
            }
            return JSONResponse.make { object in
                object.field("room", room)
                object.field("node", node.cluster.nodeID)
                object.field("role", status.role.rawValue)
                object.field("term", status.epoch.term)
                if let leader = status.leader { object.field("leader", leader.node) }
                object.array("voters", status.voters) { $0.string($1.node) }
                object.field("commitIndex", status.commitIndex)
                object.field("committedSeq", status.committedSeq)
                object.field("majorityAlive", status.majorityAlive)
                object.field("quorumLost", status.quorumLost)
            }
        }
        router.get("/rooms/:room") { request, context in
            let room = try roomParameter(context)
            try await authorize(request, room: room, user: nil, node: node)
            try spend(.read, user: nil, node: node, context: context)
            let info: (owner: String, seq: UInt64, members: [String])
            do {
                info = try await node.cluster.info(room: room)
            } catch let error as ProtocolError where error.code == .unavailable {
                return await unavailableRoom(room, error, node: node)
            }
            return JSONResponse.make { object in
                object.field("room", room)
                object.field("state", "available")
                object.field("owner", info.owner)
                object.field("seq", info.seq)
                object.array("members", info.members) { $0.string($1) }
            }
        }
        router.get("/rooms/:room/messages") { request, context in
            let room = try roomParameter(context)
            try await authorize(request, room: room, user: nil, node: node)
            try spend(.read, user: nil, node: node, context: context)
            let query = request.uri.queryParameters
            let before = try integer(query.get("before"), name: "before", minimum: 1)
            let since = try integer(query.get("since"), name: "since", minimum: 0)
            let limit =
                try integer(query.get("limit"), name: "limit", minimum: 1, maximum: Int64(ClientFrame.maxHistoryLimit))
                .map(Int.init) ?? ClientFrame.defaultHistoryLimit
            guard before == nil || since == nil else {
                throw ProtocolError(.badRequest, "give before or since, not both")
            }
            let messages = try await node.cluster.messages(
                room: room, before: before.map(UInt64.init), since: since.map(UInt64.init), limit: limit)
            return JSONResponse.make { object in
                object.field("room", room)
                object.array("messages", messages) { $1.writeFields(into: &$0) }
            }
        }
        router.post("/rooms/:room/messages") { request, context in
            let room = try roomParameter(context)
            try checkOrigin(request, node: node)
            guard let type = request.headers[.contentType], type.lowercased().hasPrefix("application/json") else {
                return JSONResponse.make(status: .unsupportedMediaType) { object in
                    object.field("code", ErrorCode.badRequest.rawValue)
                    object.field("message", "the body must be JSON, sent with Content-Type: application/json")
                }
            }
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: node.limits.maxFrameBytes)
            } catch {
                throw ProtocolError(.tooLarge, "body is larger than \(node.limits.maxFrameBytes) bytes")
            }
            let send = try HTTPSend.decode(String(buffer: body), limits: node.limits).get()
            try await authorize(request, room: room, user: send.user, node: node)
            try spend(.send, user: send.user, node: node, context: context, id: send.id)
            let ack = try await node.cluster.send(room: room, user: send.user, id: send.id, text: send.text)
            return JSONResponse.make { object in
                object.field("room", room)
                object.field("id", send.id)
                object.field("seq", ack.seq)
            }
        }
    }

    /// `/rooms/{room}` of a room that cannot be served: 503 with why, and (groups mode) what this
    /// node's replica says: `no_majority` (writes wait for a partition or a restart to heal),
    /// `quorum_lost` (a majority is gone for good: `chat-node rooms recover`), or `unavailable`.
    static func unavailableRoom(_ room: String, _ error: ProtocolError, node: ChatNodeContext) async -> Response {
        let status = await node.cluster.groups?.status(of: room)
        let state = status.map { $0.quorumLost ? "quorum_lost" : ($0.majorityAlive ? "unavailable" : "no_majority") } ?? "unavailable"
        return JSONResponse.make(status: .serviceUnavailable) { object in
            object.field("code", error.code.rawValue)
            object.field("message", error.message)
            object.field("room", room)
            object.field("state", state)
            if let status {
                object.array("voters", status.voters) { $0.string($1.node) }
                object.field("committedSeq", status.committedSeq)
            }
        }
    }

    /// Refuses (403 `forbidden`) a request whose `Origin` is neither this node nor an allowed one.
    static func checkOrigin(_ request: Request, node: ChatNodeContext) throws {
        let origin = request.headers[.origin]
        guard node.origins.allows(origin: origin, host: request.head.authority) else {
            throw ProtocolError(
                .forbidden, "requests from the web origin \(origin ?? "") are not allowed here (allowedOrigins in the cluster file)")
        }
    }

    /// With auth on, a room route needs `Authorization: Bearer <JWT>`: for `user` when given (a
    /// post), for anyone otherwise (a read), and its `rooms` claim must allow `room`. Throws
    /// `unauthorized` (401) with the reason.
    static func authorize(_ request: Request, room: String, user: String?, node: ChatNodeContext) async throws {
        guard let auth = node.auth else { return }
        let header = request.headers[.authorization] ?? ""
        let token = header.hasPrefix("Bearer ") ? String(header.dropFirst("Bearer ".count)) : nil
        let claims: UserClaims
        do {
            claims = try await auth.check(token: token, user: user)
        } catch {
            throw ProtocolError(.unauthorized, "Authorization: Bearer <token> is required: \(error.description)")
        }
        guard claims.allows(room) else { throw ProtocolError(.unauthorized, "your token does not allow room \(room)") }
    }

    /// Spends a request from the user's and the client address's budgets (`ClientGuard`), or
    /// throws `rate_limited` (429).
    static func spend(
        _ request: ClientGuard.Request, user: String?, node: ChatNodeContext, context: ChatRequestContext, id: String? = nil
    ) throws {
        let key = node.clientGuard.addressKey(context.remoteAddress)
        if let refusal = node.clientGuard.allow(request, user: user, address: key) {
            throw ProtocolError(.rateLimited, refusal.message(retry: id != nil), id: id)
        }
    }

    static func roomParameter(_ context: ChatRequestContext) throws -> String {
        let room = context.parameters.get("room").flatMap { $0.removingPercentEncoding } ?? ""
        guard Validation.isValidRoom(room) else {
            throw ProtocolError(.badRequest, "room must be 1-64 characters of A-Z a-z 0-9 . _ -")
        }
        return room
    }

    static func integer(_ text: String?, name: String, minimum: Int64, maximum: Int64 = .max) throws -> Int64? {
        guard let text, !text.isEmpty else { return nil }
        guard let value = Int64(text), value >= minimum, value <= maximum else {
            throw ProtocolError(.badRequest, "\(name) must be an integer from \(minimum) to \(maximum)")
        }
        return value
    }
}
