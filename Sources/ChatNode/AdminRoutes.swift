import ChatCore
import Cluster
import Foundation
import Gossip
import HTTPTypes
import Hummingbird
import NIOCore

/// The operator routes (`/admin/…`) behind `chat-node members remove` and `chat-node rooms
/// recover`. Every one needs `Authorization: Bearer <admin token>`: the token is derived from the
/// cluster secret (`AdminToken`), so whoever holds the cluster file can act on any node, and
/// nobody else can. Answers are JSON; refusals say why (404, 409, 503) and change nothing.
enum AdminRoutes {
    static func add(to router: Router<ChatRequestContext>, node: ChatNodeContext) {
        let token = AdminToken(secret: node.configuration.secret)
        // `POST /admin/members/{id}/remove[?force=true]`
        router.post("/admin/members/:member/remove") { request, context in
            try token.check(request)
            let id = context.parameters.get("member").flatMap { $0.removingPercentEncoding } ?? ""
            let force = request.uri.queryParameters.get("force") == "true"
            let member = try await refusing { try await node.cluster.removeMember(id, force: force) }
            return JSONResponse.make { object in
                object.field("member", id)
                object.field("was", member.status.rawValue)
                object.field("removed", true)
                object.field("forced", force)
            }
        }
        // `POST /admin/rooms/{room}/recover[?skip=N]`: run on the replica with the highest
        // committed seq (`chat-node rooms recover` finds it); see `RoomGroup.recover`.
        router.post("/admin/rooms/:room/recover") { request, context in
            try token.check(request)
            let room = try HTTPRoutes.roomParameter(context)
            let skip = try HTTPRoutes.integer(request.uri.queryParameters.get("skip"), name: "skip", minimum: 0, maximum: 1 << 32) ?? 1000
            guard let groups = node.cluster.groups else {
                throw AdminError(.conflict, "rooms are not majority groups on \(node.nodeID) (replication factor 0): nothing to recover")
            }
            let recovery = try await refusing { try await groups.recover(room: room, skip: UInt64(skip)) }
            return JSONResponse.make { object in
                object.field("room", room)
                object.field("node", node.nodeID)
                object.field("lostAfter", recovery.lostAfter)
                object.field("resumeAfter", recovery.resumeAfter)
            }
        }
    }

    /// Runs `body`, turning an `OperatorRefusal` into its HTTP answer.
    static func refusing<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let refusal as OperatorRefusal {
            switch refusal.kind {
            case .notFound: throw AdminError(.notFound, refusal.reason)
            case .conflict: throw AdminError(.conflict, refusal.reason)
            case .unavailable: throw AdminError(.serviceUnavailable, refusal.reason)
            }
        }
    }
}

/// The admin token: base64url of HMAC-SHA256(key: cluster secret, message: "\0chat-node admin")
/// (the NUL keeps it apart from every user token, since user names cannot hold one).
/// `chat-node token --admin` prints it; comparison is constant-time.
struct AdminToken: Sendable {
    /// The message the token authenticates: a "user" no user token can be made for.
    private static let subject = "\u{0}chat-node admin"
    private let tokens: AuthTokens

    init(secret: String) { tokens = AuthTokens(secret: secret) }

    var value: String { tokens.token(for: Self.subject) }

    func check(_ request: Request) throws {
        let header = request.headers[.authorization] ?? ""
        let given = header.hasPrefix("Bearer ") ? String(header.dropFirst("Bearer ".count)) : nil
        guard tokens.isValid(token: given, for: Self.subject) else {
            throw AdminError(.unauthorized, "the admin routes need Authorization: Bearer <admin token> (chat-node token --admin)")
        }
    }
}

/// An admin route's refusal: an HTTP status with `{code, message}` JSON.
struct AdminError: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let code: String =
            switch status {
            case .unauthorized: "unauthorized"
            case .notFound: "not_found"
            case .conflict: "conflict"
            default: "unavailable"
            }
        return JSONResponse.make(status: status) { object in
            object.field("code", code)
            object.field("message", message)
        }
    }
}
