// swift-tools-version:6.1
// Baselines for docs/BENCHMARKS.md, in their own package so the main build never pays for
// grpc-swift: the same unary call served by grpc-swift-2 over HTTP/2, and a raw SwiftNIO echo
// of the same bytes. Built and run by scripts/bench-baselines.sh.
import PackageDescription

let package = Package(
    name: "Baselines",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(name: "lv-baseline", dependencies: [
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
    ]
)
