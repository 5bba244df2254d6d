import Hummingbird
import Logging
import SENSCore
import SENSSimulator
import ServiceLifecycle
import UnixSignals

/// Runs the gateway until SIGTERM or SIGINT, then shuts down gracefully: in-flight requests finish, then the
/// HTTP client closes. In simulator mode, an in-process SENS simulator with freshly generated keys runs on a
/// loopback port and the gateway uses it as SENS.
public enum GatewayRunner {
    /// - Parameter onReady: called with the gateway's port once it accepts requests.
    public static func run(_ configuration: GatewayConfiguration, logger: Logger,
                           onReady: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let ready: @Sendable (Int) async -> Void = { port in
            logger.info("sens-gateway listening", metadata: ["address": "http://\(configuration.http.host):\(port)"])
            await onReady(port)
        }
        if let sens = configuration.sens, !configuration.simulator {
            logger.info("using SENS", metadata: ["baseUrl": "\(sens.baseURL.text)", "serviceId": "\(sens.serviceID)",
                                                 "accessKey": "\(sens.credentials.maskedAccessKey)"])
            let app = try GatewayApplication.build(http: configuration.http, sens: sens, cache: configuration.cache,
                                                 resilience: configuration.resilience, logger: logger,
                                                 checkSENSAtStart: true, onServerRunning: ready)
            try await app.runService()
            return
        }
        let credentials = NCPCredentials(accessKey: randomHex(20), secretKey: NCPSecretKey(randomHex(40)))
        let simulator = SENSSimulator(configuration: SimulatorConfiguration(credentials: credentials))
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let simulatorApp = simulator.buildApplication(
            server: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            logger: Logger(label: "sens-simulator")
        ) { port in
            portContinuation.yield(port)
            portContinuation.finish()
        }
        let gateway = DeferredService {
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { return nil }
            logger.notice("simulator mode: SENS is an in-process simulator; nothing reaches NCP", metadata: [
                "simulator": "http://127.0.0.1:\(port)", "serviceId": "\(simulator.configuration.serviceID)",
            ])
            let sens = GatewayConfiguration.SENSSettings(
                credentials: credentials, serviceID: simulator.configuration.serviceID,
                baseURL: SENSBaseURL("http://127.0.0.1:\(port)")!
            )
            return try GatewayApplication.build(http: configuration.http, sens: sens, cache: configuration.cache,
                                                 resilience: configuration.resilience, logger: logger,
                                                 onServerRunning: ready)
        }
        // Shut down in reverse: the gateway drains first, then the simulator it depends on stops.
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: simulatorApp), .init(service: gateway)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }

    static func randomHex(_ length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in "0123456789abcdef".randomElement(using: &generator)! })
    }
}

/// A service built only once something it needs is known (here, the simulator's port).
struct DeferredService: Service {
    let make: @Sendable () async throws -> (any Service)?

    func run() async throws {
        try await make()?.run()
    }
}
