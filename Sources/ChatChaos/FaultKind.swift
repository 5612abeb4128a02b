import Foundation

/// What a fault does to one node (process faults) or to its host's network (network faults, only
/// with `--hosts`, carried out by `netbed.py fault` and undone by `netbed.py heal`).
enum FaultKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// SIGKILL, then restart the same node id after `recoverAfter` seconds.
    case kill
    /// SIGTERM (graceful leave), wait for the exit, then restart after `recoverAfter` seconds.
    case term
    /// SIGSTOP for `recoverAfter` seconds (longer than failure detection), then SIGCONT. Named
    /// `stop` on the command line too.
    case pause
    /// Silent symmetric DROP between the host and every other host.
    case partition
    /// The host hears nothing from the other hosts (they still hear it).
    case asym
    /// Blackhole routes between the host and every other host.
    case route
    /// The host's link goes down: gone for everybody, clients included.
    case vanish
    /// Packet loss on the host's interface (tc netem).
    case loss
    /// Delay on the host's interface (tc netem).
    case delay

    static let processKinds: [FaultKind] = [.kill, .term, .pause]
    static let networkKinds: [FaultKind] = [.partition, .asym, .route, .vanish, .loss, .delay]

    /// The kind named `name` on the command line (`stop` is `pause`).
    init?(name: String) {
        if name == "stop" {
            self = .pause
        } else {
            self.init(rawValue: name)
        }
    }

    var isNetwork: Bool { Self.networkKinds.contains(self) }

    /// True when the node cannot take part in the cluster during the fault (everything but loss
    /// and delay, which only degrade its network): time a client spends on such a node does not
    /// count against the failover bound of its sends.
    var takesNodeOut: Bool { self != .loss && self != .delay }

    /// True when the node's users must leave presence within the presence bound (kill and term:
    /// the node is gone for good). A paused, cut-off or vanished node comes back with its users,
    /// so for those presence is only measured while the fault lasts, and reported.
    var presenceMustClear: Bool { self == .kill || self == .term }

    /// kill/term: seconds between the exit and the restart; the others: how long the fault lasts.
    var recoverRange: ClosedRange<Double> {
        switch self {
        case .kill: 0.5...2
        case .term: 0...0.5
        case .pause: 3...5
        case .partition, .asym, .route, .vanish, .loss, .delay: 5...8
        }
    }

    /// Parses a comma-separated list of kinds; throws a message naming the unknown ones.
    static func parseList(_ text: String, allowed: [FaultKind]) throws(FaultKindListError) -> [FaultKind] {
        var kinds: [FaultKind] = []
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let kind = FaultKind(name: name), allowed.contains(kind) else {
                throw FaultKindListError(name: name, allowed: allowed)
            }
            if !kinds.contains(kind) { kinds.append(kind) }
        }
        return kinds
    }
}

/// An unknown name in a list of fault kinds.
struct FaultKindListError: Error, CustomStringConvertible {
    var name: String
    var allowed: [FaultKind]

    var description: String {
        "unknown fault kind '\(name)' (allowed: \(allowed.map { $0 == .pause ? "stop" : $0.rawValue }.joined(separator: ", ")))"
    }
}
