import Foundation

/// Resident memory of a process, from `/proc/PID/status`.
enum ProcessMemory {
    /// `VmRSS` in KiB, or nil if the process or the field is missing.
    static func residentKilobytes(pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return residentKilobytes(status: status)
    }

    /// Reads the `VmRSS:   12345 kB` line of a status file.
    static func residentKilobytes(status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 3, fields[2] == "kB", let value = Int(fields[1]) else { return nil }
            return value
        }
        return nil
    }

    /// The resident memory of this process, in KiB.
    static var ownResidentKilobytes: Int? { residentKilobytes(pid: getpid()) }
}
