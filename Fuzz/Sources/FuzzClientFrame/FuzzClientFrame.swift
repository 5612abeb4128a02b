import ChatCore
import FuzzSupport

/// A client's text frame, as the node decodes it (protocol v1 and the HTTP post body): any text
/// decodes or is refused with a protocol error, never traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientFrame(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = ClientFrame.decode(text, limits: ChatLimits())
    _ = HTTPSend.decode(text, limits: ChatLimits())
    return 0
}

#if !FUZZING
    @main enum Replay {
        static func main() { CorpusReplay.run(fuzzClientFrame) }
    }
#endif
