#if canImport(Glibc)
    import Glibc
#endif

/// One loop whose heap allocations `AllocationProbe` counts: its name (the key of the counts),
/// how many operations one run performs, and the loop, which returns a checksum.
public struct AllocationPhase {
    public let name: String
    public let operations: Int
    public let body: () -> Int

    public init(name: String, operations: Int, body: @escaping () -> Int) {
        self.name = name
        self.operations = operations
        self.body = body
    }
}

/// Counts the heap allocations of benchmark loops, for real, with glibc's `mtrace`.
///
/// Since glibc 2.34 `mtrace()` only works with `libc_malloc_debug.so` preloaded, so a benchmark
/// runs itself again as a child process with `LD_PRELOAD=libc_malloc_debug.so.0` and
/// `MALLOC_TRACE=<file>` (`measure`). The child (`runChild`) builds its fixtures, runs every phase
/// once untraced (warm-up: one-time runtime work such as metadata instantiation, and growth of
/// the fixtures' buffers, happens there), then for each phase calls `mtrace()`, runs the loop,
/// calls `muntrace()` and counts the allocation records in the trace (`+` for
/// malloc/calloc/memalign, `>` for the new block of a realloc). The trace sees every allocator
/// call in the process, whatever made it (Swift runtime, stdlib, libc, Foundation).
///
/// Two control phases keep the figures honest (`Controls`): an empty loop must count 0 (tracing
/// adds nothing of its own), and a loop that must allocate must count at least one per
/// operation; if either fails, tracing is not working and nothing is reported as measured.
///
/// The executable's entry point must call `runChild` when its arguments are
/// `[program, AllocationProbe.childFlag, resultPath]`.
public enum AllocationProbe {
    public static let childFlag = "--count-allocations"

    /// The counts returned by the child: phase name -> (allocations, operations).
    public typealias Counts = [String: (allocations: Int, operations: Int)]

    /// The control phases, by name: `empty` must count 0, `mustAllocate` at least 1 per operation
    /// (`mustAllocateLabel` names it in the failure message).
    public struct Controls: Sendable {
        public var empty: String
        public var mustAllocate: String
        public var mustAllocateLabel: String

        public init(empty: String, mustAllocate: String, mustAllocateLabel: String) {
            self.empty = empty
            self.mustAllocate = mustAllocate
            self.mustAllocateLabel = mustAllocateLabel
        }
    }

    /// The result path if `arguments` (normally `CommandLine.arguments`) are a child's.
    public static func childResultPath(_ arguments: [String]) -> String? {
        arguments.count == 3 && arguments[1] == childFlag ? arguments[2] : nil
    }

    #if os(Linux)
        /// In the child: runs the phases under `mtrace` and writes "name allocations operations" lines
        /// to `resultPath`. Exits.
        public static func runChild(phases: [AllocationPhase], resultPath: String) -> Never {
            // libc_malloc_debug's mtrace/muntrace are non-default symbol versions (`mtrace@GLIBC_2.2.5`),
            // which dlsym never returns (it finds libc's no-op stubs): look them up by version.
            typealias VersionedLookup =
                @convention(c) (
                    UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?
                ) -> UnsafeMutableRawPointer?
            let defaultScope: UnsafeMutableRawPointer? = nil  // RTLD_DEFAULT
            guard
                let tracePath = getenv("MALLOC_TRACE").map({ String(cString: $0) }),
                let dlvsymSymbol = dlsym(defaultScope, "dlvsym")
            else { exit(3) }
            let dlvsym = unsafeBitCast(dlvsymSymbol, to: VersionedLookup.self)
            guard
                let mtraceSymbol = dlvsym(defaultScope, "mtrace", "GLIBC_2.2.5"),
                let muntraceSymbol = dlvsym(defaultScope, "muntrace", "GLIBC_2.2.5")
            else { exit(3) }
            typealias VoidFunction = @convention(c) () -> Void
            let mtrace = unsafeBitCast(mtraceSymbol, to: VoidFunction.self)
            let muntrace = unsafeBitCast(muntraceSymbol, to: VoidFunction.self)

            for phase in phases { blackHole(phase.body()) }  // warm-up, untraced
            var lines = ""
            for phase in phases {
                mtrace()
                let result = phase.body()
                muntrace()
                blackHole(result)
                guard let allocations = countTraceAllocations(tracePath) else { exit(4) }
                lines += "\(phase.name) \(allocations) \(phase.operations)\n"
            }
            unlink(tracePath)
            guard let file = fopen(resultPath, "w") else { exit(5) }
            fputs(lines, file)
            fclose(file)
            exit(0)
        }

        /// Allocation records in an mtrace file, nil if it cannot be read or has no "= Start".
        public static func countTraceAllocations(_ path: String) -> Int? {
            guard let file = fopen(path, "r") else { return nil }
            defer { fclose(file) }
            var line: UnsafeMutablePointer<CChar>? = nil
            var capacity = 0
            defer { free(line) }
            var started = false
            var count = 0
            while getline(&line, &capacity, file) >= 0, let line {
                let text = String(cString: line)
                if text.hasPrefix("= Start") { started = true }
                // "@ caller + 0xADDR 0xSIZE" (malloc, calloc, memalign) or "@ caller > 0xADDR 0xSIZE" (realloc).
                if text.contains(" + ") || text.contains(" > ") || text.hasPrefix("+ ") || text.hasPrefix("> ") { count += 1 }
            }
            return started ? count : nil
        }

        /// In the parent: runs the child (this executable again, with `childFlag`) and returns its
        /// counts, or nil (with the reason) if they could not be measured. The child's trace and
        /// result files are `/tmp/<filePrefix>-mtrace-<pid>.txt` and
        /// `/tmp/<filePrefix>-allocations-<pid>.txt`, removed afterwards.
        public static func measure(filePrefix: String, controls: Controls) -> (counts: Counts?, reason: String) {
            let pid = getpid()
            let tracePath = "/tmp/\(filePrefix)-mtrace-\(pid).txt"
            let resultPath = "/tmp/\(filePrefix)-allocations-\(pid).txt"
            defer {
                unlink(tracePath)
                unlink(resultPath)
            }
            var environment: [String] = ["LD_PRELOAD=libc_malloc_debug.so.0", "MALLOC_TRACE=\(tracePath)"]
            let environmentTable: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
            if var entry = environmentTable {
                while let variable = entry.pointee {
                    let text = String(cString: variable)
                    if !text.hasPrefix("LD_PRELOAD=") && !text.hasPrefix("MALLOC_TRACE=") { environment.append(text) }
                    entry += 1
                }
            }
            let arguments = ["/proc/self/exe", childFlag, resultPath]
            let argv = arguments.map { strdup($0) } + [nil]
            let envp = environment.map { strdup($0) } + [nil]
            defer {
                argv.forEach { free($0) }
                envp.forEach { free($0) }
            }
            var child: pid_t = 0
            let spawned = posix_spawn(&child, "/proc/self/exe", nil, nil, argv, envp)
            guard spawned == 0 else { return (nil, "posix_spawn failed (\(spawned))") }
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            guard status == 0 else { return (nil, "child exited with status \(status) (is libc_malloc_debug.so.0 there?)") }

            guard let file = fopen(resultPath, "r") else { return (nil, "no result file") }
            defer { fclose(file) }
            var line: UnsafeMutablePointer<CChar>? = nil
            var capacity = 0
            defer { free(line) }
            var counts: Counts = [:]
            while getline(&line, &capacity, file) >= 0, let line {
                let fields = String(cString: line).split(whereSeparator: { $0 == " " || $0 == "\n" })
                guard fields.count == 3, let allocations = Int(fields[1]), let operations = Int(fields[2]) else { continue }
                counts[String(fields[0])] = (allocations, operations)
            }
            guard let control = counts[controls.mustAllocate], control.allocations >= control.operations else {
                return (nil, "control failed: \(controls.mustAllocateLabel) allocations not seen, tracing inactive")
            }
            guard counts[controls.empty]?.allocations == 0 else {
                return (nil, "control failed: an empty loop counted allocations")
            }
            return (counts, "mtrace (glibc) in a child process; controls passed")
        }
    #else
        public static func runChild(phases: [AllocationPhase], resultPath: String) -> Never {
            fatalError("allocation counting needs glibc")
        }
        public static func countTraceAllocations(_ path: String) -> Int? { nil }
        public static func measure(filePrefix: String, controls: Controls) -> (counts: Counts?, reason: String) {
            (nil, "allocation counting needs glibc (Linux)")
        }
    #endif
}
