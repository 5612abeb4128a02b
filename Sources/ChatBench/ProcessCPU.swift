import Foundation

/// CPU time of a process, from `/proc/PID/stat`.
enum ProcessCPU {
    /// User + system CPU seconds, or nil if the process is gone.
    static func seconds(pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return seconds(stat: stat, ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))))
    }

    /// Reads utime and stime (fields 14 and 15) of a stat line; the command name (field 2) may hold
    /// spaces and parentheses, so fields are counted after its last `)`.
    static func seconds(stat: String, ticksPerSecond: Double) -> Double? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so utime (14) is fields[11] and stime (15) fields[12].
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]), ticksPerSecond > 0 else {
            return nil
        }
        return (user + system) / ticksPerSecond
    }
}
