import Foundation

/// The test network of `tests/netbed/netbed.py`: one network namespace per host on a bridge,
/// with faults (iptables, routes, link state, tc netem) it applies and heals. This type only runs
/// the script (`python3 SCRIPT COMMAND ...`, JSON on stdout, non-zero exit on error); the argument
/// lists and the parsing of `up` are pure, for tests.
struct NetBed: Sendable {
    struct Host: Sendable, Hashable, Decodable {
        /// 1-based host number, as `--host` takes it.
        var index: Int
        var netns: String
        var address: String
    }

    /// What `up` made.
    struct Info: Sendable, Hashable, Decodable {
        var name: String
        var bridge: String?
        /// The root namespace's address on the bridge: clients and Redis live there.
        var gateway: String
        var hosts: [Host]
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let script: String
    let name: String

    /// `cc<pid % 1000>`: short (interface names are at most 15 bytes) and distinct per run.
    static func defaultName(pid: Int32 = ProcessInfo.processInfo.processIdentifier) -> String {
        "cc\(pid % 1000)"
    }

    /// The bed records this process as its owner, and beds of earlier `chat-chaos` runs whose
    /// owner is gone (killed before they could take their bed down) are removed first.
    func upArguments(hosts: Int, subnet: Int?, owner: Int32 = ProcessInfo.processInfo.processIdentifier) -> [String] {
        [script, "up", "--name", name, "--hosts", String(hosts), "--owner-pid", String(owner), "--sweep-prefix", "cc"]
            + (subnet.map { ["--subnet", String($0)] } ?? [])
    }

    func downArguments() -> [String] { [script, "down", "--name", name] }

    /// `host` is 1-based; no `peers`: the host against every other one.
    func faultArguments(kind: FaultKind, host: Int, peers: [Int] = []) -> [String] {
        [script, "fault", "--name", name, "--kind", kind.rawValue, "--host", String(host)]
            + (peers.isEmpty ? [] : ["--peers", peers.map(String.init).joined(separator: ",")])
    }

    func healArguments(host: Int?) -> [String] {
        [script, "heal", "--name", name] + (host.map { ["--host", String($0)] } ?? [])
    }

    static func parseUp(_ output: Data) throws -> Info {
        do {
            let info = try JSONDecoder().decode(Info.self, from: output)
            guard !info.hosts.isEmpty else { throw Failure(description: "netbed up listed no hosts") }
            return info
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(
                description: "netbed up printed no readable JSON (\(error)): \(String(decoding: output, as: UTF8.self).prefix(500))")
        }
    }

    func up(hosts: Int, subnet: Int?) async throws -> Info {
        let info = try Self.parseUp(try await run(upArguments(hosts: hosts, subnet: subnet)))
        guard info.hosts.count == hosts else { throw Failure(description: "netbed up made \(info.hosts.count) hosts, not \(hosts)") }
        return info.sortedHosts
    }

    func fault(_ kind: FaultKind, host: Int) async throws {
        _ = try await run(faultArguments(kind: kind, host: host))
    }

    func heal(host: Int?) async throws {
        _ = try await run(healArguments(host: host))
    }

    /// Blocking (for exit paths and the SIGINT handler); errors are printed, not thrown.
    func downBlocking() {
        do {
            _ = try Self.runBlocking(downArguments())
        } catch {
            FileHandle.standardError.write(Data("chat-chaos: \(error)\n".utf8))
        }
    }

    private func run(_ arguments: [String]) async throws -> Data {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Self.runBlocking(arguments) })
            }
        }
    }

    /// Runs `python3 ARGUMENTS`, returns its stdout; throws with its stderr on a non-zero exit.
    static func runBlocking(_ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes to the end before waiting, so a chatty child cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errorData = Data()
        group.enter()
        DispatchQueue.global().async {
            errorData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errorData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw Failure(
                description:
                    "netbed \(arguments.dropFirst().prefix(1).joined()) failed (exit \(process.terminationStatus)): \(message.suffix(1000))"
            )
        }
        return data
    }
}

extension NetBed.Info {
    /// Hosts in index order (host i is node n_i).
    var sortedHosts: NetBed.Info {
        var copy = self
        copy.hosts.sort { $0.index < $1.index }
        return copy
    }
}
