import Hummingbird
import HummingbirdTesting
import Logging
import SENSGateway

/// The one way the tests start a gateway in-process: the application `sens-gateway` runs, built from a
/// configuration (the settings table's defaults, changed as a test needs) and its dependencies, on a loopback port
/// for the length of `body`. The harnesses (`GatewayHarness`, `MirrorHarness`) only choose what to pass.
enum TestGateway {
    static func run(
        _ configuration: GatewayConfiguration = .forTests,
        services: [GatewayConfiguration.Service],
        dependencies: GatewayDependencies = GatewayDependencies(logger: Logger(label: "gateway")),
        _ body: @escaping @Sendable (GatewayClient) async throws -> Void
    ) async throws {
        let app = try GatewayApplication.build(configuration, services: services, dependencies: dependencies)
        try await app.test(.live) { client in try await body(GatewayClient(client: client)) }
    }
}

extension GatewayConfiguration {
    /// The settings table's defaults, listening on a free loopback port, with one attempt per SENS call and a
    /// breaker that does not trip unless a test asks (so that tests of other behaviour count SENS calls simply).
    static var forTests: GatewayConfiguration {
        defaults.with {
            $0.http.host = "127.0.0.1"
            $0.http.port = 0
            $0.resilience = GatewayHarness.singleAttempt
        }
    }
}
