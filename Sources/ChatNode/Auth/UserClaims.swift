import ChatCore
import Foundation
import JWTKit

/// The claims of a user token (PROTOCOL.md: JWTs with `sub` = user, `exp` required), plus the
/// optional `rooms`: patterns (`RoomPattern`) of the rooms the user may join, post to and read.
/// Without it every room is allowed.
struct UserClaims: JWTPayload {
    /// Tokens that expired less than this long ago still pass (clocks of the minting service and
    /// the nodes differ a little).
    static let leewaySeconds = 30.0

    var sub: SubjectClaim
    var exp: ExpirationClaim
    var rooms: [String]?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired(currentDate: .now.addingTimeInterval(-Self.leewaySeconds))
    }

    /// Whether the token lets its user use `room`.
    func allows(_ room: String) -> Bool {
        guard let rooms else { return true }
        return rooms.contains { RoomPattern($0).matches(room) }
    }
}
