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
        // A typed Swift client of the gateway, generated from openapi.yaml, for the services that call it.
        .library(name: "SENSGatewayClient", targets: ["SENSGatewayClient"]),
    ],
    dependencies: [
        // Traits trimmed so that full Foundation (and its ICU data) is not linked in.
        .package(
            url: "https://github.com/hummingbird-project/hummingbird.git",
            from: "2.28.1",
            traits: ["ConfigurationSupport"]
        ),
        .package(
            url: "https://github.com/apple/swift-configuration.git",
            from: "1.4.0",
            traits: ["CommandLineArguments"]
        ),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-openapi-generator.git", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4", traits: []),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        // Already resolved for Hummingbird: its HTTP part types, for the 100-continue handler.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // Already resolved for swift-openapi-generator; the build tool reads the spec's routes with it.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // The mirror's embedded store (vendors SQLite: no system package).
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        // The mirror's shared store, and the TLS its connections use (already resolved for it and AsyncHTTPClient).
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Traces (already resolved for Hummingbird), exported over OTLP/HTTP only: the gRPC exporter's trait would
        // build gRPC as well.
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
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
        // The gateway's HTTP contract, generated from the root openapi.yaml (symlinked into the target).
        .target(
            name: "GatewayAPI",
            dependencies: [.product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")],
            swiftSettings: swiftSettings,
            plugins: [
                .plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator"),
                "EmbedOpenAPIDocument",
            ]
        ),
        // The typed client callers use, generated from the same spec over GatewayAPI's types.
        .target(
            name: "SENSGatewayClient",
            dependencies: [
                "GatewayAPI",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
            ],
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        // Request-scoped values every layer reads: the request's deadline and its logger (for its id).
        .target(
            name: "CallScope",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // SENS client: a transport that signs, times out and classifies any SENS call; the unsubscribes resource.
        .target(
            name: "SENSClient",
            dependencies: [
                "SENSCore",
                "CallScope",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        // The opt-out domain: the directory protocol, its SENS-backed and cached implementations, resilience.
        .target(
            name: "OptOuts",
            dependencies: [
                "SENSCore", "SENSClient", "CallScope", .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        // The mirror: a synced copy of each opt-out list (in-memory index, sync loop, store, change feed).
        .target(
            name: "OptOutMirror",
            dependencies: [
                "OptOuts",
                "SENSCore",
                "SENSClient",
                "CallScope",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        // HTTP: the request pipeline and one file per operation of openapi.yaml, over the domain; no SENS types.
        .target(
            name: "GatewayHTTP",
            dependencies: [
                "GatewayAPI",
                "OptOuts",
                "OptOutMirror",
                "SENSCore",
                "CallScope",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        // The application: configuration, the composition root, metrics, lifecycle. Links no simulator.
        .target(
            name: "SENSGateway",
            dependencies: [
                "GatewayHTTP",
                "OptOuts",
                "OptOutMirror",
                "SENSClient",
                "SENSCore",
                "CallScope",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        // The executable; it also wires the simulator into --simulator.
        .executableTarget(
            name: "sens-gateway",
            dependencies: [
                "SENSGateway",
                "SENSClient",
                "SENSCore",
                "SENSSimulator",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Build tool: embeds openapi.yaml and its route table into GatewayAPI.
        .executableTarget(
            name: "openapi-embed",
            dependencies: [.product(name: "Yams", package: "Yams")],
            path: "Sources/OpenAPIEmbed"
        ),
        // Micro-benchmarks of phone parsing and signing (Benchmarks/README.md); not shipped.
        .executableTarget(
            name: "sens-microbench",
            dependencies: ["SENSCore", "GatewayAPI"],
            path: "Benchmarks/MicroBenchmarks",
            swiftSettings: swiftSettings
        ),
        // The bare Hummingbird route the benchmarks measure the gateway against (Benchmarks/README.md); not shipped.
        .executableTarget(
            name: "bare-hummingbird",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"), "GatewayHTTP",
            ],
            path: "Benchmarks/BareRoute",
            swiftSettings: swiftSettings
        ),
        .plugin(name: "EmbedOpenAPIDocument", capability: .buildTool(), dependencies: ["openapi-embed"]),
        // Helpers and fixtures shared by the test targets (not shipped).
        .target(
            name: "SENSTestSupport",
            dependencies: [
                "SENSCore", "SENSClient", "OptOuts", .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Tests/SENSTestSupport",
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SENSCoreTests",
            dependencies: ["SENSCore", "SENSTestSupport"],
            swiftSettings: swiftSettings
        ),
        // The gateway's parts on their own: no socket, no process, no database.
        .testTarget(
            name: "SENSGatewayUnitTests",
            dependencies: [
                "SENSGateway",
                "GatewayHTTP",
                "GatewayAPI",
                "OptOuts",
                "OptOutMirror",
                "SENSClient",
                "SENSCore",
                "SENSTestSupport",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The gateway end to end: on loopback ports in front of the simulator or a stub SENS, as a process, and
        // on a real PostgreSQL.
        .testTarget(
            name: "SENSGatewayIntegrationTests",
            dependencies: [
                "SENSGateway",
                "GatewayHTTP",
                "GatewayAPI",
                "OptOuts",
                "OptOutMirror",
                "SENSClient",
                "CallScope",
                "SENSTestSupport",
                "SENSCore",
                "SENSSimulator",
                "SENSGatewayClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SENSSimulatorTests",
            dependencies: [
                "SENSSimulator",
                "SENSTestSupport",
                "SENSCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
