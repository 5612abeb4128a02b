import CHiredis
import Foundation

/// One blocking hiredis connection. Not thread-safe: exactly one thread (the store's worker)
/// owns it. Every call is bounded by the socket timeout set at connect time.
final class RedisConnection {
    /// A reply, copied out of hiredis's memory so that it outlives `freeReplyObject`.
    enum Reply: Equatable {
        case string([UInt8])
        case array([Reply])
        case integer(Int64)
        case null
        case status(String)
        case error(String)
    }

    /// The connection failed (refused, reset, timed out); it must be discarded.
    struct IOError: Error, CustomStringConvertible {
        var description: String
    }

    private var context: UnsafeMutablePointer<redisContext>

    /// Connects, authenticates and selects the database.
    init(url: RedisURL, timeout: Duration) throws {
        let tv = timeval(
            tv_sec: Int(timeout.components.seconds),
            tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        guard let context = redisConnectWithTimeout(url.host, Int32(url.port), tv) else {
            throw IOError(description: "cannot allocate a redis context")
        }
        if context.pointee.err != 0 {
            let reason = Self.errorString(context)
            redisFree(context)
            throw IOError(description: reason)
        }
        self.context = context
        redisSetTimeout(context, tv)
        if let password = url.password {
            try expectOK(command(["AUTH", password]))
        }
        if url.database != 0 {
            try expectOK(command(["SELECT", String(url.database)]))
        }
    }

    deinit {
        redisFree(context)
    }

    /// Runs one command and waits for its reply.
    func command(_ arguments: [String]) throws -> Reply {
        try append(arguments.map { Array($0.utf8) })
        return try nextReply()
    }

    /// Queues a command in the output buffer without waiting (pipelining); `nextReply` reads the
    /// replies in order.
    func append(_ arguments: [[UInt8]]) throws {
        let status = Self.withArgv(arguments) { argc, argv, lengths in
            redisAppendCommandArgv(context, argc, argv, lengths)
        }
        guard status == REDIS_OK else { throw IOError(description: Self.errorString(context)) }
    }

    /// Flushes queued commands (once) and reads the next reply.
    func nextReply() throws -> Reply {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
            throw IOError(description: Self.errorString(context))
        }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return Self.copy(reply)
    }

    private func expectOK(_ reply: Reply) throws {
        if case .error(let message) = reply { throw IOError(description: message) }
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> Reply {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            guard let str = r.str else { return .string([]) }
            return .string(Array(UnsafeRawBufferPointer(start: str, count: Int(r.len))))
        case REDIS_REPLY_STATUS, REDIS_REPLY_ERROR:
            let text = r.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: Int(r.len)), as: UTF8.self) } ?? ""
            return r.type == REDIS_REPLY_STATUS ? .status(text) : .error(text)
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(r.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [Reply] = []
            elements.reserveCapacity(Int(r.elements))
            for index in 0..<Int(r.elements) {
                if let element = r.element[index] { elements.append(copy(element)) } else { elements.append(.null) }
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        var errstr = context.pointee.errstr
        return withUnsafeBytes(of: &errstr) { bytes in
            let text = bytes.prefix { $0 != 0 }
            return text.isEmpty ? "redis error \(context.pointee.err)" : String(decoding: text, as: UTF8.self)
        }
    }

    /// Lays the arguments out in one buffer and passes hiredis the pointers and lengths it wants.
    /// Binary-safe: lengths are explicit.
    private static func withArgv<R>(
        _ arguments: [[UInt8]],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
    ) -> R {
        var joined: [UInt8] = []
        var offsets: [Int] = []
        var lengths: [Int] = []
        for argument in arguments {
            offsets.append(joined.count)
            lengths.append(argument.count)
            joined.append(contentsOf: argument)
        }
        joined.append(0)
        return joined.withUnsafeBufferPointer { base in
            let start = UnsafeRawPointer(base.baseAddress!)
            var pointers: [UnsafePointer<CChar>?] = offsets.map {
                (start + $0).assumingMemoryBound(to: CChar.self)
            }
            return pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { lengths in
                    body(Int32(arguments.count), argv.baseAddress!, lengths.baseAddress!)
                }
            }
        }
    }
}
