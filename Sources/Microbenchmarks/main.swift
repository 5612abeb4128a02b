// chat-microbench: ns/op (wall and thread CPU) and heap allocations/op of the hot pieces of a node,
// in a release build: ring lookups, client protocol frames, the room sequencer's step, a SWIM
// protocol period, internal frames.
//
//   swift build --scratch-path .build-micro -c release --product chat-microbench
//   .build-micro/release/chat-microbench
//   CHAT_MICROBENCH_ONLY=clientDecodeSend,serverEncodeMessage .build-micro/release/chat-microbench   # a subset, by key
//
// Prints a human table and, last, one line of JSON with the same figures. Allocations are counted
// by running this executable again as a child under glibc's mtrace (`AllocationProbe`).
import BenchmarkSupport

if let resultPath = AllocationProbe.childResultPath(CommandLine.arguments) {
    AllocationProbe.runChild(phases: Catalog.allocationPhases(), resultPath: resultPath)
}
MicrobenchReport.run()
