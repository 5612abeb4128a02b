import ChatCore
import FuzzSupport

/// The strict JSON parser of every client frame: any bytes either parse or throw, never trap; what
/// parses writes back to JSON that parses to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    guard let value = try? JSONParser.parse(raw) else { return 0 }
    var writer = JSONWriter()
    value.write(into: &writer)
    let again = writer.bytes.withUnsafeBytes { try? JSONParser.parse($0) }
    precondition(again == value, "JSON did not survive a round trip")
    return 0
}

#if !FUZZING
    @main enum Replay {
        static func main() { CorpusReplay.run(fuzzJSON) }
    }
#endif
