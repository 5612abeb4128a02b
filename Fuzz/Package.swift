// swift-tools-version:6.2
import PackageDescription

/// libFuzzer harnesses (issue 11 §8) for the decoders that read bytes from strangers: the JSON
/// parser, the client frame decoder, the internal link frame codec and the gossip codec. A package
/// of its own, so that the product's `swift build` never builds them; `scripts/fuzz.sh` builds
/// them with `--sanitize=fuzzer` and runs each for a bounded time over `Corpus/<harness>`.
let package = Package(
    name: "chat-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "swift-chat-cluster", path: "..")],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(
            name: "FuzzJSON", dependencies: ["FuzzSupport", .product(name: "ChatCore", package: "swift-chat-cluster")]),
        .executableTarget(
            name: "FuzzClientFrame", dependencies: ["FuzzSupport", .product(name: "ChatCore", package: "swift-chat-cluster")]),
        .executableTarget(
            name: "FuzzInternalFrame", dependencies: ["FuzzSupport", .product(name: "Cluster", package: "swift-chat-cluster")]),
        .executableTarget(
            name: "FuzzGossip", dependencies: ["FuzzSupport", .product(name: "Gossip", package: "swift-chat-cluster")]),
    ]
)
