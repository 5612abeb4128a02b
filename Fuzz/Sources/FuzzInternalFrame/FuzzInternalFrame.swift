import Cluster
import FuzzSupport
import NIOCore

/// One internal link frame (after the length prefix), as a node decodes what a peer sent: any
/// bytes decode or throw, never trap; what decodes encodes back to a frame that decodes the same.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInternalFrame(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    guard let frame = try? InternalFrame.decode(&buffer) else { return 0 }
    var encoded = ByteBuffer()
    frame.encode(into: &encoded)
    let again = try? InternalFrame.decode(&encoded)
    precondition(again == frame, "an internal frame did not survive a round trip")
    return 0
}

#if !FUZZING
    @main enum Replay {
        static func main() { CorpusReplay.run(fuzzInternalFrame) }
    }
#endif
