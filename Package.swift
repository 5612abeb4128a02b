// swift-tools-version:6.2
import PackageDescription

/// Swift 6 language mode with complete concurrency checking for every target.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "swift-chat-cluster",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chat-node", targets: ["ChatNode"]),
        .library(name: "ChatCore", targets: ["ChatCore"]),
        .library(name: "History", targets: ["History"]),
        .executable(name: "ring-bench", targets: ["RingBenchmark"]),
        .executable(name: "gossip-sim", targets: ["GossipSimulation"]),
        .executable(name: "chat-bench", targets: ["ChatBench"]),
        .executable(name: "chat-chaos", targets: ["ChatChaos"]),
        .library(name: "ChatClient", targets: ["ChatClient"]),
        .executable(name: "chat-microbench", targets: ["Microbenchmarks"]),
        .library(name: "RoomGroup", targets: ["RoomGroup"]),
        // For the fuzz harnesses (Fuzz/Package.swift): the link and gossip codecs.
        .library(name: "Cluster", targets: ["Cluster"]),
        .library(name: "Gossip", targets: ["Gossip"]),
        .executable(name: "group-sim", targets: ["GroupSimulation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(
            name: "ChatCore",
            dependencies: [
                .product(name: "DequeModule", package: "swift-collections")
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Ring",
            swiftSettings: strict
        ),
        .target(
            name: "Gossip",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Cluster",
            dependencies: [
                "ChatCore",
                "History",
                "Ring",
                "Gossip",
                "RoomGroup",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "BenchmarkSupport",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "RingBenchmark",
            dependencies: ["Ring", "ChatCore", "BenchmarkSupport"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "GossipSimulation",
            dependencies: ["Gossip"],
            swiftSettings: strict
        ),
        .target(
            name: "History",
            dependencies: [
                "CHiredis",
                "ChatCore",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ChatNode",
            dependencies: [
                "ChatCore",
                "History",
                "Cluster",
                "Gossip",
                "Ring",
                "RoomGroup",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: strict
        ),
        .target(
            name: "ChatClient",
            dependencies: [
                "ChatCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            exclude: ["README.md"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ChatBench",
            dependencies: [
                "ChatClient",
                "ChatCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "Microbenchmarks",
            dependencies: [
                "BenchmarkSupport",
                "ChatClient",
                "ChatCore",
                "Ring",
                "Gossip",
                "Cluster",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ChatChaos",
            dependencies: [
                "ChatClient",
                "ChatCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ChatClientTests",
            dependencies: ["ChatClient", "ChatCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ChatBenchTests",
            dependencies: ["ChatBench"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ChatChaosTests",
            dependencies: ["ChatChaos"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ChatCoreTests",
            dependencies: ["ChatCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RingTests",
            dependencies: ["Ring"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GossipTests",
            dependencies: ["Gossip"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ClusterTests",
            dependencies: ["Cluster", "ChatCore", "History", "RoomGroup"],
            swiftSettings: strict
        ),
        .target(
            name: "RoomGroup",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "GroupSimulation",
            dependencies: ["RoomGroup"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RoomGroupTests",
            dependencies: ["RoomGroup"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HistoryTests",
            dependencies: ["History", "ChatCore"],
            swiftSettings: strict
        ),
    ]
)
