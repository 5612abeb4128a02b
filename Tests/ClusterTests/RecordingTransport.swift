import NIOCore
import NIOPosix
import Synchronization

@testable import Cluster

/// A client socket that records what is written to it, on a real event loop; `writable` can be
/// turned off to play a client that stops reading.
final class RecordingTransport: ClientTransport {
    let eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()
    let frames = Mutex<[ByteBuffer]>([])
    let flushes = Atomic<Int>(0)
    let cutOff = Atomic<Bool>(false)
    let writable = Atomic<Bool>(true)

    var isWritable: Bool { writable.load(ordering: .relaxed) }
    var written: [ByteBuffer] { frames.withLock { $0 } }
    var flushCount: Int { flushes.load(ordering: .relaxed) }
    var wasCutOff: Bool { cutOff.load(ordering: .relaxed) }

    func write(_ frame: ByteBuffer) { frames.withLock { $0.append(frame) } }
    func flush() { flushes.add(1, ordering: .relaxed) }
    func closeSlowConsumer() { cutOff.store(true, ordering: .relaxed) }
    func close(code: UInt16, reason: String) { cutOff.store(true, ordering: .relaxed) }
}
