import GatewayHTTP
import Hummingbird
import Logging
import OptOutMirror
import SENSClient
import SENSCore
import ServiceLifecycle
import UnixSignals

/// Runs the gateway until SIGTERM or SIGINT, then shuts down gracefully: in-flight requests finish, then the
/// HTTP client closes.
public enum GatewayRunner {
    /// The gateway against SENS as configured (`upstream` must be `.sens`).
    /// - Parameter onReady: called with the gateway's port once it accepts requests.
    public static func run(
        _ configuration: GatewayConfiguration,
        logger: Logger,
        onReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        guard case .sens(let services) = configuration.upstream else {
            preconditionFailure("simulator mode is run by the executable, which links the simulator")
        }
        for service in services {
            logger.info(
                "using SENS",
                metadata: [
                    "service": "\(service.name)", "baseUrl": "\(service.sens.baseURL.masked)",
                    "serviceId": "\(service.sens.serviceID)",
                    "accessKey": "\(service.sens.credentials.maskedAccessKey)",
                ]
            )
        }
        if let proxy = configuration.calls.proxy {
            logger.info(
                "SENS through an egress proxy",
                metadata: ["proxy": "\(proxy.masked)", "from": "\(proxy.source)"]
            )
        }
        let tracing = try GatewayTracing.start(configuration.tracing, logger: logger)
        let mirror = try await openMirror(configuration, logger: logger)
        let app = try application(
            configuration,
            services: services,
            mirrorStore: mirror,
            logger: logger,
            checkSENSAtStart: true,
            tracing: tracing,
            onReady: onReady
        )
        try await closing(mirror) {
            try await serviceGroup(
                tracing.map { [$0.service] } ?? [],
                app,
                configuration: configuration,
                logger: logger
            )
            .run()
        }
    }

    /// The services run until SIGTERM or SIGINT; then answers in flight get `http.drainSeconds` to be written out
    /// (`AnswerDelivery`), and the services a few seconds more to stop gracefully (the access log writes its last
    /// lines) before what is left is cancelled.
    /// What the services get to stop once the answers are out.
    public static let stopSeconds = 5

    /// `first` run before `services` and stop after them: the traces' exporter flushes the spans of the last
    /// requests.
    public static func serviceGroup(
        _ first: [any Service] = [],
        _ services: any Service...,
        configuration: GatewayConfiguration,
        logger: Logger
    ) -> ServiceGroup {
        var group = ServiceGroupConfiguration(
            services: (first + services).map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        group.maximumGracefulShutdownDuration = .seconds(configuration.http.drainSeconds + Self.stopSeconds)
        return ServiceGroup(configuration: group)
    }

    /// Runs `body`, then closes the mirror's store whether it ran or failed (a port already taken, say): the sync
    /// service closes it when it ran, and closing twice does nothing.
    public static func closing(_ store: (any MirrorStore)?, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            try? await store?.close()
            throw error
        }
        try? await store?.close()
    }

    /// The mirror's store, opened and migrated, when the mirror is on; a store that cannot be opened stops start-up.
    public static func openMirror(
        _ configuration: GatewayConfiguration,
        logger: Logger
    ) async throws -> (any MirrorStore)? {
        let settings = configuration.mirror
        guard settings.enabled else {
            logger.notice(
                "the mirror is off (mirror.enabled=false): no filter, no change feed; reads go to the cache and SENS"
            )
            return nil
        }
        try CharsetSupportError.check()
        let store: any MirrorStore
        if let database = settings.database {
            do {
                store = try await PostgresMirrorStore.open(settings: database, logger: logger)
            } catch {
                throw MirrorOpenError(
                    store: database.maskedURL,
                    setting: "mirror.databaseUrl, MIRROR_DATABASE_URL",
                    reason: "\(error)"
                )
            }
            do {
                try await store.migrate()
            } catch {
                try? await store.close()
                throw MirrorOpenError(
                    store: database.maskedURL,
                    setting: "mirror.databaseUrl, MIRROR_DATABASE_URL",
                    reason: "\(error)"
                )
            }
            logger.info(
                "mirror store open: shared by the replicas on this database",
                metadata: [
                    "database": "\(database.maskedURL)", "poolSize": "\(database.poolSize)",
                ]
            )
        } else {
            do {
                let file = try await SQLiteMirrorStore.open(path: settings.path, logger: logger)
                do { try await file.migrate() } catch {
                    try? await file.close()
                    throw error
                }
                store = file
            } catch {
                throw MirrorOpenError(
                    store: settings.path ?? ":memory:",
                    setting: "mirror.path, MIRROR_PATH",
                    reason: "\(error)"
                )
            }
            logger.info("mirror store open", metadata: ["path": "\(settings.path ?? ":memory:")"])
        }
        return store
    }

    /// The gateway as a service over the given SENS services, for running alone or beside others (the simulator).
    public static func application(
        _ configuration: GatewayConfiguration,
        services: [GatewayConfiguration.Service],
        mirrorStore: (any MirrorStore)?,
        logger: Logger,
        checkSENSAtStart: Bool,
        tracing: GatewayTracing? = nil,
        onReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let metrics = GatewayMetrics()
        // Exported from the start, so that a rule on it has a series before the first drop.
        metrics.recordDroppedLogLines(0)
        let dependencies = GatewayDependencies(
            logger: logger,
            metrics: metrics,
            mirrorStore: mirrorStore,
            // Request lines through a buffer written off the requests' path (one per request, the same text).
            accessLog: BufferedAccessLog(
                format: configuration.log.format,
                level: configuration.log.level,
                logger: logger,
                onDropped: { metrics.recordDroppedLogLines($0) }
            ),
            checkSENSAtStart: checkSENSAtStart,
            tracer: tracing?.tracer,
            propagatesTraceContext: tracing?.propagates ?? false
        ) { port in
            logger.info("sens-gateway listening", metadata: ["address": "http://\(configuration.http.host):\(port)"])
            await onReady(port)
        }
        return try GatewayApplication.build(configuration, services: services, dependencies: dependencies)
    }
}

/// The mirror's store could not be opened: a start-up refusal naming the setting.
public struct MirrorOpenError: Error, CustomStringConvertible {
    /// The file, or the database URL with its password masked.
    public let store: String
    public let setting: String
    public let reason: String

    public var description: String {
        "cannot open the mirror's store \(store) (\(setting)): \(reason)"
    }
}
