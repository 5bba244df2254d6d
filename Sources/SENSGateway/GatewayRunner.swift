import Hummingbird
import Logging
import SENSClient
import SENSCore
import ServiceLifecycle
import UnixSignals

/// Runs the gateway until SIGTERM or SIGINT, then shuts down gracefully: in-flight requests finish, then the
/// HTTP client closes.
public enum GatewayRunner {
    /// The gateway against SENS as configured (`upstream` must be `.sens`).
    /// - Parameter onReady: called with the gateway's port once it accepts requests.
    public static func run(_ configuration: GatewayConfiguration, logger: Logger,
                           onReady: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        guard case .sens(let services) = configuration.upstream else {
            preconditionFailure("simulator mode is run by the executable, which links the simulator")
        }
        for service in services {
            logger.info("using SENS", metadata: [
                "service": "\(service.name)", "baseUrl": "\(service.sens.baseURL.text)", "serviceId": "\(service.sens.serviceID)",
                "accessKey": "\(service.sens.credentials.maskedAccessKey)",
            ])
        }
        try await application(configuration, services: services, logger: logger, checkSENSAtStart: true, onReady: onReady).runService()
    }

    /// The gateway as a service over the given SENS services, for running alone or beside others (the simulator).
    public static func application(_ configuration: GatewayConfiguration, services: [GatewayConfiguration.Service], logger: Logger,
                                   checkSENSAtStart: Bool, onReady: @escaping @Sendable (Int) async -> Void = { _ in })
        throws -> some ApplicationProtocol {
        try GatewayApplication.build(
            http: configuration.http, services: services, defaultService: configuration.defaultService, cache: configuration.cache,
            resilience: configuration.resilience, responseUTCOffsetSeconds: configuration.calls.registerTimeOffsetSeconds,
            logger: logger, checkSENSAtStart: checkSENSAtStart
        ) { port in
            logger.info("sens-gateway listening", metadata: ["address": "http://\(configuration.http.host):\(port)"])
            await onReady(port)
        }
    }
}
