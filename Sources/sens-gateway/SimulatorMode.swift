import Hummingbird
import Logging
import SENSClient
import SENSCore
import SENSGateway
import SENSSimulator
import ServiceLifecycle
import UnixSignals

/// `--simulator`: an in-process SENS simulator on a loopback port, with freshly made keys and one simulated
/// service per configured name, and the gateway in front of it. Wired here, so that the production library never
/// links the simulator.
enum SimulatorMode {
    /// `thenLog` writes the lines that follow the simulator's own, which is the first.
    static func run(
        _ configuration: GatewayConfiguration,
        logger: Logger,
        thenLog: @escaping @Sendable () -> Void
    ) async throws {
        guard case .simulator(let names, let configuredPort) = configuration.upstream else { return }
        // The first line says where the simulator is and how to seed it (a port of 0 is known once bound).
        @Sendable func announce(_ port: Int) {
            let seed =
                "curl -X POST http://127.0.0.1:\(port)/_simulator/unsubscribes -H 'Content-Type: application/json' "
                + "-d '{\"count\":1000,\"prefix\":\"0105\"}'"
            logger.notice(
                "simulator mode: SENS is an in-process simulator; nothing reaches NCP. Seed it: \(seed)",
                metadata: [
                    "simulator": "http://127.0.0.1:\(port)", "services": "\(names.joined(separator: ","))",
                ]
            )
            thenLog()
        }
        if configuredPort != 0 { announce(configuredPort) }
        let credentials = NCPCredentials(accessKey: randomHex(20), secretKey: NCPSecretKey(randomHex(40)))
        let tracing = try GatewayTracing.start(configuration.tracing, logger: logger)
        let mirror = try await GatewayRunner.openMirror(configuration, logger: logger)
        let simulator = SENSSimulator(
            configuration: SimulatorConfiguration(
                credentials: credentials,
                serviceIDs: names.map(GatewayConfiguration.simulatedServiceID)
            )
        )
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let simulatorApp = simulator.buildApplication(
            server: ApplicationConfiguration(address: .hostname("127.0.0.1", port: configuredPort)),
            logger: Logger(label: "sens-simulator")
        ) { port in
            portContinuation.yield(port)
            portContinuation.finish()
        }
        let gateway = DeferredService {
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { return nil }
            if configuredPort == 0 { announce(port) }
            let services = configuration.simulatedServices(
                baseURL: SENSBaseURL("http://127.0.0.1:\(port)")!,
                credentials: credentials
            )
            return try GatewayRunner.application(
                configuration,
                services: services,
                mirrorStore: mirror,
                logger: logger,
                checkSENSAtStart: false,
                tracing: tracing
            )
        }
        // Shut down in reverse: the gateway drains first, then the simulator it depends on stops.
        let group = GatewayRunner.serviceGroup(
            tracing.map { [$0.service] } ?? [],
            simulatorApp,
            gateway,
            configuration: configuration,
            logger: logger
        )
        try await GatewayRunner.closing(mirror) { try await group.run() }
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
