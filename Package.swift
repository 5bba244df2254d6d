// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "sens-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sens-gateway", targets: ["sens-gateway"]),
        .executable(name: "sens-simulator", targets: ["sens-simulator"]),
    ],
    dependencies: [
        // Traits trimmed so that full Foundation (and its ICU data) is not linked in.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["ConfigurationSupport"]),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: ["CommandLineArguments"]),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // System OpenSSL libcrypto, for HMAC-SHA256 (Debian: libssl-dev).
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // Pure domain code shared by the gateway and the simulator: signing, phone numbers, SENS wire types.
        .target(
            name: "SENSCore",
            dependencies: ["COpenSSL"],
            swiftSettings: swiftSettings
        ),
        // A faithful in-memory SENS (unsubscribe API) served by Hummingbird.
        .target(
            name: "SENSSimulator",
            dependencies: [
                "SENSCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sens-simulator",
            dependencies: [
                "SENSCore",
                "SENSSimulator",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sens-gateway",
            dependencies: ["SENSCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SENSCoreTests",
            dependencies: ["SENSCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SENSSimulatorTests",
            dependencies: [
                "SENSSimulator",
                "SENSCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
