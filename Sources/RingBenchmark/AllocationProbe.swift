import Ring

#if canImport(Glibc)
    import Glibc
#endif

/// Counts the heap allocations of the lookup loops, for real, with glibc's `mtrace`.
///
/// Since glibc 2.34 `mtrace()` only works with `libc_malloc_debug.so` preloaded, so the benchmark
/// runs itself again as a child process with `LD_PRELOAD=libc_malloc_debug.so.0` and
/// `MALLOC_TRACE=<file>`. The child builds the ring and the keys, runs every loop once untraced
/// (warm-up: one-time runtime work such as metadata instantiation happens there), then for each
/// phase calls `mtrace()`, runs the loop, calls `muntrace()` and counts the allocation records in
/// the trace (`+` for malloc/calloc/memalign, `>` for the new block of a realloc). The trace sees
/// every allocator call in the process, whatever made it (Swift runtime, stdlib, libc).
///
/// Two control phases keep the figures honest: an empty loop must count 0 (tracing adds nothing of
/// its own), and `preferenceList(of:count:)`, whose result array must be allocated, must count at
/// least one per call; if it does not, tracing is not working and nothing is reported as measured.
enum AllocationProbe {
    static let childFlag = "--count-allocations"

    /// A traced phase: its name, how many operations it runs, and the loop.
    struct Phase {
        let name: String
        let operations: Int
        let body: () -> Int
    }

    /// The counts returned by the child: phase name -> (allocations, operations).
    typealias Counts = [String: (allocations: Int, operations: Int)]

    static func phases() -> [Phase] {
        let ring = HashRing(members: nodes(50))
        return [
            Phase(name: "empty", operations: lookupCount) { runEmpty() },
            Phase(name: "ownerOfKey", operations: lookupCount) { runOwnerLookups(ring) },
            Phase(name: "ownerOfHash", operations: lookupCount) { runHashLookups(ring) },
            Phase(name: "hash", operations: lookupCount) { runHashOnly() },
            Phase(name: "preferenceList2", operations: lookupCount / 10) { runPreferenceLists(ring, lookupCount / 10) },
        ]
    }

    #if os(Linux)
        /// In the child: runs the phases under `mtrace` and writes "name allocations operations" lines
        /// to `resultPath`. Exits.
        static func runChild(resultPath: String) -> Never {
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

            let phases = phases()
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
        static func countTraceAllocations(_ path: String) -> Int? {
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

        /// In the parent: runs the child and returns its counts, or nil (with the reason) if they
        /// could not be measured.
        static func measure() -> (counts: Counts?, reason: String) {
            let pid = getpid()
            let tracePath = "/tmp/ring-bench-mtrace-\(pid).txt"
            let resultPath = "/tmp/ring-bench-allocations-\(pid).txt"
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
            guard let control = counts["preferenceList2"], control.allocations >= control.operations else {
                return (nil, "control failed: preferenceList allocations not seen, tracing inactive")
            }
            guard counts["empty"]?.allocations == 0 else {
                return (nil, "control failed: an empty loop counted allocations")
            }
            return (counts, "mtrace (glibc) in a child process; controls passed")
        }
    #else
        static func runChild(resultPath: String) -> Never { fatalError("allocation counting needs glibc") }
        static func measure() -> (counts: Counts?, reason: String) { (nil, "allocation counting needs glibc (Linux)") }
    #endif
}
