import FuzzSupport
import Gossip

/// One gossip datagram's payload (after its authentication), as SWIM decodes it: any bytes decode
/// or throw, never trap; what decodes encodes back to a message that decodes the same.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGossip(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let message = try? SWIMCodec.decode(bytes) else { return 0 }
    let again = try? SWIMCodec.decode(SWIMCodec.encode(message))
    precondition(again == message, "a gossip message did not survive a round trip")
    return 0
}

#if !FUZZING
    @main enum Replay {
        static func main() { CorpusReplay.run(fuzzGossip) }
    }
#endif
