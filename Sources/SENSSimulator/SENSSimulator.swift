import Hummingbird
import Logging
import SENSCore

/// An in-memory SENS unsubscribe API: the same paths, signature checks, limits and error bodies, over HTTP.
///
/// Its parts are public so tests can seed the list, change faults and count calls directly.
public struct SENSSimulator: Sendable {
    public let configuration: SimulatorConfiguration
    /// The list of the main service (`configuration.serviceID`).
    public let store: UnsubscribeStore
    /// Every service's list, by service id.
    public let stores: [String: UnsubscribeStore]
    public let faults: FaultInjector
    public let stats: SimulatorStats
    let clock: any EpochClock

    public init(
        configuration: SimulatorConfiguration,
        store: UnsubscribeStore = UnsubscribeStore(),
        clock: any EpochClock = SystemEpochClock()
    ) {
        self.configuration = configuration
        self.store = store
        var stores = [configuration.serviceID: store]
        for serviceID in configuration.allAccounts.flatMap(\.serviceIDs) where stores[serviceID] == nil {
            stores[serviceID] = UnsubscribeStore()
        }
        self.stores = stores
        self.faults = FaultInjector(configuration.faults)
        self.stats = SimulatorStats()
        self.clock = clock
    }

    /// The path of the unsubscribe resource for this simulator's main service, as signed and sent.
    public var unsubscribesPath: String { "/sms/v2/services/\(configuration.serviceID)/unsubscribes" }

    public func buildRouter() -> Router<SimulatorRequestContext> {
        let router = Router(context: SimulatorRequestContext.self)
        router.add(middleware: SimulatorErrorMiddleware())
        let sens = router.group("sms/v2/services/:serviceId/unsubscribes")
            .add(
                middleware: SignatureVerificationMiddleware(
                    accounts: configuration.allAccounts,
                    clock: clock,
                    stats: stats
                )
            )
        UnsubscribeRoutes(
            stores: stores,
            faults: faults,
            stats: stats,
            clock: clock,
            localTime: configuration.localTime
        ).add(to: sens)
        AdminRoutes(
            stores: stores,
            defaultServiceID: configuration.serviceID,
            faults: faults,
            stats: stats,
            clock: clock,
            localTime: configuration.localTime
        )
        .add(to: router.group("_simulator"))
        return router
    }

    /// A Hummingbird application serving the simulator. `onServerRunning` receives the bound port (useful with 0).
    public func buildApplication(
        server: ApplicationConfiguration,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: buildRouter(),
            configuration: server,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }
}
