// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "LearningValidation",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lv-registration", targets: ["lv-registration"]),
        .executable(name: "lv-engagement", targets: ["lv-engagement"]),
        .executable(name: "lv-assessment", targets: ["lv-assessment"]),
        .executable(name: "lv-gateway", targets: ["lv-gateway"]),
        .executable(name: "lv-load", targets: ["lv-load"]),
        .executable(name: "lvctl", targets: ["lvctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        // TLS (BoringSSL): only LVTLS depends on it, never LVRPC or LVMessages.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // C libraries from Debian: libprotobuf-c-dev and libsqlite3-dev.
        .systemLibrary(name: "CProtobufC", path: "Shared/CProtobufC", pkgConfig: "libprotobuf-c",
                       providers: [.apt(["libprotobuf-c-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Shared/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        // libpq (libpq-dev): only LVStorePostgres uses it, never LVStore, LVRPC or the sanitizer builds.
        .systemLibrary(name: "CLibPQ", path: "Shared/CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // C shims for LVStore: sqlite3_config (variadic in C) for process-wide SQLite settings; naming the store's threads.
        .target(name: "CSQLiteConfig", dependencies: ["CSQLite"], path: "Shared/CSQLiteConfig"),
        // The git commit and build date `make dist` bakes in (-Xcc -D…); see BuildInfo.swift.
        .target(name: "CBuildInfo", path: "Shared/CBuildInfo"),
        // protoc-c output for every file under proto/ (scripts/generate-proto.sh).
        .target(name: "LVProtoC", dependencies: ["CProtobufC"], path: "Shared/LVProtoC",
                sources: ["generated"], publicHeadersPath: "include"),
        // Swift value types for the messages, converted to and from the protoc-c structs.
        .target(name: "LVMessages", dependencies: ["CProtobufC", "LVProtoC"], path: "Shared/LVMessages",
                swiftSettings: swiftSettings),
        // The canonical proto3 JSON mapping, driven by protoc-c's descriptors or a FileDescriptorSet.
        .target(name: "LVJSON", dependencies: ["CProtobufC", "LVProtoC", "LVMessages"], path: "Shared/LVJSON",
                swiftSettings: swiftSettings),
        // The wire protocol: framing, server, client (docs/PROTOCOL.md).
        .target(name: "LVRPC", dependencies: [
            "LVMessages", "LVProtoC", "CProtobufC", "CBuildInfo",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Shared/LVRPC", swiftSettings: swiftSettings),
        // Generated handler protocols and typed clients for every service in proto/.
        .target(name: "LVAPI", dependencies: ["LVMessages", "LVRPC", "LVDomain"], path: "Shared/LVAPI",
                swiftSettings: swiftSettings),
        // SQLite: pragmas, versioned migrations, group-commit writer.
        .target(name: "LVStore", dependencies: [
            "CSQLite", "CSQLiteConfig",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Shared/LVStore", swiftSettings: swiftSettings),
        // PostgreSQL backend for LVStore (libpq, synchronous on the store's own threads): the high-availability option.
        .target(name: "LVStorePostgres", dependencies: ["LVStore", "CLibPQ"], path: "Shared/LVStorePostgres",
                swiftSettings: swiftSettings),
        // Credentials (key file, salted SHA-256), the method → scope table, per-key limits and the
        // hash-chained audit log; plugs into LVRPC's authenticator hook and interceptors. No TLS here.
        .target(name: "LVSecurity", dependencies: [
            "LVRPC", "LVMessages", "LVJSON", "CProtobufC",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ], path: "Shared/LVSecurity", swiftSettings: swiftSettings),
        // TLS for the protocol (swift-nio-ssl): server and client handlers from PEM files, plugged
        // into LVRPC's channel-initializer hooks. The only target that compiles BoringSSL.
        .target(name: "LVTLS", dependencies: [
            "LVRPC",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ], path: "Shared/LVTLS", swiftSettings: swiftSettings),
        // What every service executable shares: flags, logging, metrics endpoint, lifecycle.
        .target(name: "LVService", dependencies: [
            "LVRPC", "LVAPI", "LVStore", "LVSecurity", "LVTLS",
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], path: "Shared/LVService", swiftSettings: swiftSettings),

        // The validation statistics (t, McNemar, Holm, Hake, Morris d_ppc2, Spearman…); no I/O.
        .target(name: "LVStatistics", path: "Shared/LVStatistics", swiftSettings: swiftSettings),
        // Rules more than one service applies (NPI, collected field violations, DomainError); no I/O, and
        // neither the wire (LVRPC) nor SQLite (LVStore): clients link it too.
        .target(name: "LVDomain", dependencies: ["LVMessages"], path: "Shared/LVDomain",
                swiftSettings: swiftSettings),
        // Protobuf requests and responses in a store's request log (idempotent retries); servers only.
        .target(name: "LVStoreMessages", dependencies: ["LVStore", "LVMessages", "LVDomain"], path: "Shared/LVStoreMessages",
                swiftSettings: swiftSettings),
        // Registration's rules (credit, PARS, presence, ACCME codes): pure, so lvctl and the simulator link
        // them without the server or SQLite.
        .target(name: "RegistrationDomain", dependencies: ["LVAPI", "LVRPC", "LVMessages", "LVDomain"],
                path: "Services/Registration/Domain", swiftSettings: swiftSettings),
        // Registration: SQLite store (Store/), the service handler.
        .target(name: "Registration", dependencies: ["RegistrationDomain", "LVAPI", "LVRPC", "LVMessages", "LVStore", "LVStoreMessages", "LVDomain"],
                path: "Services/Registration", exclude: ["Domain"], swiftSettings: swiftSettings),
        .executableTarget(name: "lv-registration", dependencies: ["LVService", "LVStore", "LVStorePostgres", "Registration"],
                          path: "Services/lv-registration", swiftSettings: swiftSettings),
        // Engagement's rules: event rules, summaries, the xAPI mapping (pure; lvctl links them).
        .target(name: "EngagementDomain", dependencies: ["LVAPI", "LVRPC", "LVMessages", "LVDomain"],
                path: "Services/Engagement/Domain", swiftSettings: swiftSettings),
        // Engagement: SQLite store (Store/), the handler.
        .target(name: "Engagement", dependencies: ["EngagementDomain", "LVAPI", "LVRPC", "LVMessages", "LVStore", "LVStoreMessages", "LVDomain"],
                path: "Services/Engagement", exclude: ["Domain"], swiftSettings: swiftSettings),
        .executableTarget(name: "lv-engagement", dependencies: ["LVService", "LVStore", "LVStorePostgres", "Engagement"],
                          path: "Services/lv-engagement", swiftSettings: swiftSettings),
        // Assessment's rules: instruments, scoring, measures (pure; lvctl links them).
        .target(name: "AssessmentDomain", dependencies: ["LVAPI", "LVRPC", "LVMessages", "LVDomain"],
                path: "Services/Assessment/Domain", swiftSettings: swiftSettings),
        // Assessment: SQLite store (Store/), the handler.
        .target(name: "Assessment", dependencies: ["AssessmentDomain", "LVAPI", "LVRPC", "LVMessages", "LVStore", "LVStoreMessages", "LVDomain"],
                path: "Services/Assessment", exclude: ["Domain"], swiftSettings: swiftSettings),
        .executableTarget(name: "lv-assessment", dependencies: ["LVService", "LVStore", "LVStorePostgres", "Assessment"],
                          path: "Services/lv-assessment", swiftSettings: swiftSettings),
        // The validation view and its report rendering: plain computation over LVStatistics (lvctl links it).
        .target(name: "GatewayDomain", dependencies: ["LVAPI", "LVRPC", "LVMessages", "LVStatistics"],
                path: "Services/Gateway/Domain", swiftSettings: swiftSettings),
        // Gateway: the fan-out handler, backend health.
        .target(name: "Gateway", dependencies: ["GatewayDomain", "RegistrationDomain", "LVAPI", "LVRPC", "LVMessages", "LVDomain", "LVStatistics",
                                                .product(name: "Logging", package: "swift-log"),
                                                .product(name: "Metrics", package: "swift-metrics"),
                                                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
                path: "Services/Gateway", exclude: ["Domain"], swiftSettings: swiftSettings),
        .executableTarget(name: "lv-gateway", dependencies: ["LVService", "LVStore", "Gateway", "LVRPC", "LVTLS",
                                                             .product(name: "NIOCore", package: "swift-nio")],
                          path: "Services/lv-gateway", swiftSettings: swiftSettings),
        // A realistic simulated CME activity driven through the real protocol (lvctl simulate, make demo, lv-load).
        .target(name: "Simulation", dependencies: ["LVAPI", "LVRPC", "LVMessages", "LVDomain", "RegistrationDomain"],
                path: "Services/Simulation", swiftSettings: swiftSettings),
        // The load engine: closed and open loop (fixed, steps, ramp), coordinated-omission-corrected latency.
        .target(name: "Load", dependencies: [
            "LVRPC", "LVMessages",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Services/Load", swiftSettings: swiftSettings),
        .executableTarget(name: "lv-load", dependencies: [
            "Load", "Simulation", "LVTLS",
            "LVRPC", "LVAPI", "LVDomain",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ], path: "Services/lv-load", swiftSettings: swiftSettings),
        .executableTarget(name: "lvctl", dependencies: [
            "LVRPC", "LVAPI", "LVJSON", "LVDomain", "RegistrationDomain", "EngagementDomain", "AssessmentDomain", "GatewayDomain", "Simulation", "WebPages",
            "LVSecurity", "LVTLS",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Services/lvctl", swiftSettings: swiftSettings),

        // The web view: pages as plain functions of the gateway's messages (HTML, inline SVG, CSV,
        // escaping, sessions and CSRF tokens); no server, no Hummingbird, testable alone.
        .target(name: "WebPages", dependencies: ["GatewayDomain", "LVAPI", "LVMessages"], path: "Services/WebPages", swiftSettings: swiftSettings),
        // The replay mode (files given as arguments) the fuzz targets share; no dependencies.
        .target(name: "LVFuzzSupport", path: "Fuzz/Support", swiftSettings: swiftSettings),
        // libFuzzer target for the wire pre-check and protobuf-c decode of every message (make fuzz);
        // built without -DLV_FUZZ it replays corpus files given as arguments.
        .executableTarget(name: "lv-fuzz-codec", dependencies: ["LVMessages", "LVFuzzSupport"], path: "Fuzz/Codec",
                          swiftSettings: swiftSettings),
        // libFuzzer target for the frame decoder (reads split anywhere, body budget returned); replays without -DLV_FUZZ.
        .executableTarget(name: "lv-fuzz-frames", dependencies: [
            "LVRPC", "LVFuzzSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ], path: "Fuzz/Frames", swiftSettings: swiftSettings),
        // libFuzzer target for every registration, engagement and assessment handler on temporary stores
        // (never INTERNAL or UNKNOWN); replays without -DLV_FUZZ.
        .executableTarget(name: "lv-fuzz-handlers", dependencies: [
            "LVRPC", "LVAPI", "LVMessages", "Registration", "Engagement", "Assessment", "LVFuzzSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
        ], path: "Fuzz/Handlers", swiftSettings: swiftSettings),

        // Helpers shared by the test targets (handler fuzzing over the committed corpus, the raw frame peer); tests only.
        .target(name: "LVTestSupport", dependencies: [
            "LVRPC", "LVMessages",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Tests/LVTestSupport", swiftSettings: swiftSettings),
        // The backend the store and service suites run on: SQLite, or a fresh PostgreSQL database when
        // LV_TEST_DATABASE names a server (make test-postgres). Apart from LVTestSupport, which LVRPCTests
        // uses: the LV_CORE_ONLY builds must not need libpq.
        .target(name: "LVStoreTestSupport", dependencies: [
            "LVStore", "LVStorePostgres",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ], path: "Tests/LVStoreTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "LVMessagesTests", dependencies: ["LVMessages"], path: "Tests/LVMessagesTests"),
        .testTarget(name: "LVJSONTests", dependencies: ["LVJSON", "LVMessages", "LVRPC"], path: "Tests/LVJSONTests"),
        .testTarget(name: "LVRPCTests", dependencies: [
            "LVRPC", "LVAPI", "LVTestSupport",
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOTestUtils", package: "swift-nio"),
        ], path: "Tests/LVRPCTests"),
        .testTarget(name: "LVSecurityTests", dependencies: [
            "LVSecurity", "LVTLS", "LVRPC", "LVAPI", "LVMessages", "LVTestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Tests/LVSecurityTests"),
        .testTarget(name: "LVStoreTests", dependencies: ["LVStore"], path: "Tests/LVStoreTests"),
        // The PostgreSQL backend: dialect translation always; against a server when LV_TEST_DATABASE
        // names one (make test-postgres): group commit, savepoints, lost connections, timeouts.
        .testTarget(name: "LVStorePostgresTests", dependencies: ["LVStore", "LVStorePostgres", "LVStoreTestSupport"],
                    path: "Tests/LVStorePostgresTests"),
        .testTarget(name: "EngagementTests", dependencies: ["LVTestSupport", "LVStoreTestSupport", "Engagement", "EngagementDomain", "LVDomain", "LVRPC", "LVAPI", "LVMessages", "LVStore"],
                    path: "Tests/EngagementTests"),
        .testTarget(name: "AssessmentTests", dependencies: ["LVTestSupport", "LVStoreTestSupport", "Assessment", "AssessmentDomain", "LVDomain", "LVRPC", "LVAPI", "LVMessages", "LVStore"],
                    path: "Tests/AssessmentTests"),
        .testTarget(name: "GatewayTests", dependencies: ["LVTestSupport", "Gateway", "GatewayDomain", "Assessment", "AssessmentDomain", "LVMessages", "LVAPI", "LVRPC", "LVStatistics", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")], path: "Tests/GatewayTests"),
        .testTarget(name: "LoadTests", dependencies: ["Load", "LVRPC", "LVAPI", "LVMessages"], path: "Tests/LoadTests"),
        .testTarget(name: "LVStatisticsTests", dependencies: ["LVStatistics"], path: "Tests/LVStatisticsTests"),
        .testTarget(name: "RegistrationTests", dependencies: ["LVTestSupport", "LVStoreTestSupport", "Registration", "RegistrationDomain", "LVDomain", "LVRPC", "LVAPI", "LVMessages", "LVStore"], path: "Tests/RegistrationTests"),
        .testTarget(name: "WebTests", dependencies: ["WebPages", "GatewayDomain", "LVMessages"], path: "Tests/WebTests"),
        .testTarget(name: "EndToEndTests", dependencies: [
            "LVRPC", "LVAPI", "LVMessages", "LVDomain", "Registration", "RegistrationDomain", "Simulation", "Gateway", "GatewayDomain", "LVSecurity", "LVTLS",
            "LVTestSupport",
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Tests/EndToEndTests"),
    ]
)

// lv-web: the only targets that depend on Hummingbird. `LV_WITHOUT_WEB=1` (or LV_CORE_ONLY=1) leaves
// them out, so the sanitizer builds never compile Hummingbird or its dependencies.
let coreOnly = Context.environment["LV_CORE_ONLY"] != nil
if Context.environment["LV_WITHOUT_WEB"] == nil && !coreOnly {
    package.products.append(.executable(name: "lv-web", targets: ["lv-web"]))
    package.dependencies += [
        // No default traits (swift-configuration, full Foundation).
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0", traits: []),
    ]
    package.targets += [
        // lv-web's server: Hummingbird routes over the gateway's RPC API (the only target using Hummingbird).
        .target(name: "Web", dependencies: [
            "WebPages", "LVAPI", "LVRPC", "LVMessages", "LVService",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Services/Web", swiftSettings: swiftSettings),
        .executableTarget(name: "lv-web", dependencies: [
            "Web", "LVService",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Services/lv-web", swiftSettings: swiftSettings),
    ]
}

// `LV_CORE_ONLY=1` (make asan, make tsan): only the codec, the runtime and the store with their test
// targets and what those depend on. `swift test` builds every test target whatever --filter says, so
// without this the sanitizer builds would compile BoringSSL (LVTLS), the services and lv-web too.
if coreOnly {
    let coreTests = ["LVMessagesTests", "LVRPCTests", "LVStoreTests"]
    let byName = Dictionary(uniqueKeysWithValues: package.targets.map { ($0.name, $0) })
    var keep = Set<String>()
    var queue = coreTests
    while let name = queue.popLast() {
        guard keep.insert(name).inserted, let target = byName[name] else { continue }
        for dependency in target.dependencies {
            switch dependency {
            case .targetItem(let name, _), .byNameItem(let name, _): queue.append(name)
            default: break
            }
        }
    }
    package.targets = package.targets.filter { keep.contains($0.name) }
    package.products = []
}
