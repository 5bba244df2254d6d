import AsyncHTTPClient
import CallScope
import GatewayHTTP
import Hummingbird
import Logging
import NIOCore
import OptOutMirror
import OptOuts
import SENSClient
import SENSCore
import Tracing

/// The composition root: for each service, SENS transport → unsubscribes resource → resilience → SENS-backed
/// directory → cache; then the HTTP surface over all of them, and the one `HTTPClient` they share.
public enum GatewayApplication {
    /// The whole gateway as a Hummingbird application over the given SENS services, configured by
    /// `configuration` (whose defaults are the settings table's: `GatewayConfiguration.defaults`).
    public static func build(
        _ configuration: GatewayConfiguration,
        services: [GatewayConfiguration.Service],
        dependencies: GatewayDependencies
    ) throws -> some ApplicationProtocol {
        let http = configuration.http
        let cache = configuration.cache
        let resilience = configuration.resilience
        let clock = dependencies.clock
        let metrics = dependencies.metrics
        let logger = dependencies.logger
        let cacheMetrics = dependencies.cacheMetrics
        let resilienceMetrics = dependencies.resilienceMetrics
        let mirrorSettings = configuration.mirror.settings
        let tracer = dependencies.tracer ?? NoOpTracer()
        let mirrorStore = dependencies.mirrorStore.map { store -> any MirrorStore in
            guard let spans = dependencies.tracer else { return store }
            return TracedMirrorStore(
                store,
                system: store is PostgresMirrorStore ? "postgresql" : "sqlite",
                tracer: spans
            )
        }
        let httpClient = makeHTTPClient(
            services: services,
            resilience: resilience,
            syncConcurrency: mirrorStore == nil ? 0 : mirrorSettings.syncConcurrency
        )
        var probes: [CredentialsProbe.Target] = []
        var mirrors: [String: ServiceMirror] = [:]
        var syncTargets: [MirrorSyncService.Target] = []
        let built = services.map { service in
            let serviceMetrics = metrics.service(service.name)
            let parts = makeService(
                service,
                httpClient: httpClient,
                cache: cache,
                resilience: resilience,
                clock: clock,
                cacheMetrics: cacheMetrics ?? serviceMetrics,
                resilienceMetrics: resilienceMetrics ?? serviceMetrics,
                tracer: tracer,
                propagator: dependencies.propagatesTraceContext ? tracer : NoOpTracer(),
                logger: logger
            )
            probes.append(
                .init(
                    name: service.name,
                    sens: parts.resource,
                    credentials: parts.resilient.credentials,
                    metrics: resilienceMetrics ?? serviceMetrics,
                    accessKey: service.sens.credentials.maskedAccessKey
                )
            )
            guard let mirrorStore else { return parts.service }
            let serviceMirror = ServiceMirror(
                name: service.name,
                storeKey: service.sens.serviceID,
                store: mirrorStore,
                clock: clock,
                settings: mirrorSettings,
                metrics: dependencies.mirrorMetrics ?? serviceMetrics,
                tracer: tracer,
                logger: logger
            )
            mirrors[service.name] = serviceMirror
            let syncSource = makeSyncSource(
                service,
                resource: parts.resource,
                credentials: parts.resilient.credentials,
                resilience: resilience,
                concurrency: mirrorSettings.syncConcurrency,
                metrics: resilienceMetrics ?? serviceMetrics,
                tracer: tracer,
                logger: logger
            )
            syncTargets.append(.init(mirror: serviceMirror, source: syncSource))
            return OptOutService(
                name: service.name,
                serviceID: service.sens.serviceID,
                directory: MirroredOptOutDirectory(base: parts.service.directory, mirror: serviceMirror),
                health: parts.service.health
            )
        }
        let httpSettings = GatewayResponder.Settings(
            maxBodyBytes: http.maxBodyBytes,
            filterMaxBodyBytes: configuration.mirror.filterMaxBodyBytes,
            deadline: .milliseconds(resilience.deadlineMilliseconds),
            mirrorRetryAfterSeconds: Int(mirrorSettings.syncInterval.components.seconds),
            responseUTCOffsetSeconds: configuration.calls.registerTimeOffsetSeconds,
            changeRetentionDays: mirrorSettings.changeRetention.map { Int($0.components.seconds / 86_400) },
            simulatorURL: configuration.isSimulator ? services.first?.sens.baseURL.text : nil
        )
        let delivery = AnswerDelivery(drain: .seconds(http.drainSeconds))
        let responder: GatewayResponder
        do {
            responder = try GatewayResponder(
                services: OptOutServices(built, defaultName: configuration.defaultService),
                mirrors: mirrors,
                metrics: metrics,
                accessLog: dependencies.accessLog ?? LoggerAccessLog(),
                clock: clock,
                delivery: delivery,
                settings: httpSettings,
                tracer: dependencies.tracer,
                readsCallersTraceContext: dependencies.propagatesTraceContext
            )
        } catch {
            try? httpClient.syncShutdown()
            throw error
        }
        let connections = ConnectionLimit(maxConnections: http.maxConnections, logger: logger)
        var app = Application(
            responder: HeadResponder(base: responder),
            // Per connection, made anew for each: HTTP/1.0 and `Connection: close` answered and closed, the
            // connection bound, `100 Continue` and the body's time. Connections that send or read nothing for
            // `idleTimeout` are closed (slow or stalled clients).
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [
                        HTTP1VersionInstaller(logger: logger), connections.handler(), delivery.handler(),
                        BodyFlowHandler(
                            maxBodyBytes: http.maxBodyBytes,
                            streamedBodyLimits: httpSettings.streamedBodyLimits,
                            bodyTimeout: .milliseconds(Int64(resilience.deadlineMilliseconds))
                        ),
                    ],
                    idleTimeout: .seconds(Int64(http.idleTimeoutSeconds))
                )
            ),
            configuration: ApplicationConfiguration(
                address: .hostname(http.host, port: http.port),
                serverName: "sens-gateway"
            ),
            onServerRunning: { channel in
                // A failed accept (out of file descriptors, say) is logged; NIO alone would retry in silence.
                try? await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.addHandler(AcceptErrorLogger(logger: logger), position: .first)
                }.get()
                await dependencies.onServerRunning(channel.localAddress?.port ?? 0)
            },
            logger: logger
        )
        // Services start before the server and stop after it has drained, in the reverse order of their adding:
        // the access log first, so that it writes the last request's line last; the client outlives every request.
        if let accessLog = dependencies.accessLog { app.addServices(accessLog) }
        app.addServices(HTTPClientService(client: httpClient))
        // Added after the client, so stopped before it: a sync in the middle ends before its client goes.
        if let mirrorStore {
            app.addServices(MirrorSyncService(targets: syncTargets, store: mirrorStore, logger: logger))
        }
        if dependencies.checkSENSAtStart {
            app.addServices(
                CredentialsProbe(
                    targets: probes,
                    interval: .seconds(resilience.credentialsProbeSeconds),
                    logger: logger
                )
            )
        }
        return app
    }

    /// One service's decorators, each with its own breaker, bulkhead, credentials state and caches.
    static func makeService(
        _ service: GatewayConfiguration.Service,
        httpClient: HTTPClient,
        cache: CacheSettings,
        resilience: ResilienceSettings,
        clock: any EpochClock,
        cacheMetrics: any CacheMetrics,
        resilienceMetrics: any ResilienceMetrics,
        tracer: any Tracer,
        propagator: any Tracer,
        logger: Logger
    )
        -> (
            service: OptOutService, resilient: ResilientUnsubscribes, resource: UnsubscribesResource,
            source: any OptOutDirectory
        )
    {
        var logger = logger
        logger[metadataKey: "service"] = .string(service.name)
        let breaker = makeCircuitBreaker(resilience: resilience, metrics: resilienceMetrics, logger: logger)
        let transport = HTTPSENSTransport(
            httpClient: httpClient,
            settings: service.sens,
            clock: clock,
            tracer: propagator,
            logger: logger
        )
        let resource = UnsubscribesResource(
            transport: transport,
            serviceID: service.sens.serviceID,
            registerTimeOffsetSeconds: service.sens.registerTimeOffsetSeconds,
            logger: logger
        )
        let sens = ResilientUnsubscribes(
            upstream: resource,
            policy: resilience.retryPolicy,
            breaker: breaker,
            bulkhead: resilience.bulkhead(),
            metrics: resilienceMetrics,
            tracer: tracer,
            logger: logger
        )
        let source = SENSOptOutDirectory(sens: sens)
        let directory = CachedOptOutDirectory(base: source, settings: cache, clock: clock, metrics: cacheMetrics)
        let health = SENSServiceHealth(breaker: breaker, credentials: sens.credentials)
        return (
            OptOutService(name: service.name, serviceID: service.sens.serviceID, directory: directory, health: health),
            sens, resource, source
        )
    }

    /// The source the mirror's syncs read: the service's SENS resource behind a breaker and a bulkhead of their own
    /// (as many calls as the syncs make at once), so that a pass never fills the bulkhead live checks wait in, and
    /// a failing sync never opens the breaker live traffic goes through. The credentials' state is shared.
    static func makeSyncSource(
        _ service: GatewayConfiguration.Service,
        resource: UnsubscribesResource,
        credentials: CredentialsHealth,
        resilience: ResilienceSettings,
        concurrency: Int,
        metrics: any ResilienceMetrics,
        tracer: any Tracer,
        logger: Logger
    ) -> any OptOutDirectory {
        var serviceLogger = logger
        serviceLogger[metadataKey: "service"] = .string(service.name)
        let logger = serviceLogger
        let breaker = resilience.circuitBreaker { state in
            logger.warning(
                "the mirror syncs' SENS circuit breaker changed state",
                metadata: ["state": "\(state.rawValue)"]
            )
        }
        return SENSOptOutDirectory(
            sens: ResilientUnsubscribes(
                upstream: resource,
                policy: resilience.retryPolicy,
                breaker: breaker,
                bulkhead: Bulkhead(maxConcurrent: concurrency, maxQueued: 4 * concurrency),
                metrics: metrics,
                credentials: credentials,
                tracer: tracer,
                logger: logger
            )
        )
    }

    /// The process's one HTTP client, with as many pooled connections as the bulkheads let calls run:
    /// AsyncHTTPClient's default of 8 per host would otherwise queue most admitted calls inside the client
    /// (found under load). Every service calls the same SENS host.
    static func makeHTTPClient(
        services: [GatewayConfiguration.Service],
        resilience: ResilienceSettings,
        syncConcurrency: Int
    ) -> HTTPClient {
        var pool = HTTPClient.Configuration.ConnectionPool(idleTimeout: .seconds(60))
        pool.concurrentHTTP1ConnectionsPerHostSoftLimit =
            (resilience.maxConcurrentCalls + syncConcurrency) * max(1, services.count)
        // Every service's calls are made with the same call settings.
        let calls =
            services.first?.sens
            ?? GatewayConfiguration.defaults.calls.service(
                credentials: NCPCredentials(accessKey: "", secretKey: NCPSecretKey("")),
                serviceID: "",
                baseURL: .ncp
            )
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(
                connect: .milliseconds(Int64(calls.connectTimeoutMilliseconds)),
                read: .milliseconds(Int64(calls.attemptTimeoutMilliseconds))
            ),
            connectionPool: pool
        )
        // Its own spans would record each URL, and a list URL can hold a phone number: the SENS transport makes
        // the calls' spans and sends their trace context itself.
        configuration.tracing.tracer = nil
        // Every call goes through the egress proxy's CONNECT tunnel, with its basic authorization if it has one.
        if let proxy = calls.proxy {
            configuration.proxy = .server(
                host: proxy.host,
                port: proxy.port,
                authorization: proxy.username.map { .basic(username: $0, password: proxy.password ?? "") }
            )
        }
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    static func makeCircuitBreaker(
        resilience: ResilienceSettings,
        metrics: any ResilienceMetrics,
        logger: Logger
    ) -> CircuitBreaker {
        metrics.recordBreakerState(.closed)
        return resilience.circuitBreaker { state in
            metrics.recordBreakerState(state)
            RequestMetadata.logger(or: logger).warning(
                "SENS circuit breaker changed state",
                metadata: ["state": "\(state.rawValue)"]
            )
        }
    }
}

/// What the gateway is built with besides its configuration: its logger, clock and metrics, the mirror's store,
/// the access log. Tests pass their own (a fake clock, counting metrics).
public struct GatewayDependencies: Sendable {
    public var logger: Logger
    public var clock: any EpochClock
    public var metrics: GatewayMetrics
    /// When given, replace every service's reporting (tests count with them).
    public var cacheMetrics: (any CacheMetrics)?
    public var resilienceMetrics: (any ResilienceMetrics)?
    public var mirrorMetrics: (any MirrorMetrics)?
    /// The mirror's store, open and migrated, shared by every service's mirror; nil runs without a mirror. The
    /// caller opens it, so that one that cannot be opened stops start-up.
    public var mirrorStore: (any MirrorStore)?
    /// Request lines through a buffer written off the requests' path; nil logs them through `logger`.
    public var accessLog: BufferedAccessLog?
    /// Whether each service's keys are tried at start, and again while SENS refuses them.
    public var checkSENSAtStart: Bool
    /// Receives the port the server listens on.
    public var onServerRunning: @Sendable (Int) async -> Void
    /// The tracer of the traces (`GatewayTracing`), when they are on; nil makes no span.
    public var tracer: (any Tracer)?
    /// Whether the W3C trace context is read from callers and sent to SENS.
    public var propagatesTraceContext: Bool

    public init(
        logger: Logger,
        clock: any EpochClock = SystemEpochClock(),
        metrics: GatewayMetrics = GatewayMetrics(),
        cacheMetrics: (any CacheMetrics)? = nil,
        resilienceMetrics: (any ResilienceMetrics)? = nil,
        mirrorMetrics: (any MirrorMetrics)? = nil,
        mirrorStore: (any MirrorStore)? = nil,
        accessLog: BufferedAccessLog? = nil,
        checkSENSAtStart: Bool = false,
        tracer: (any Tracer)? = nil,
        propagatesTraceContext: Bool = true,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.tracer = tracer
        self.propagatesTraceContext = propagatesTraceContext
        self.logger = logger
        self.clock = clock
        self.metrics = metrics
        self.cacheMetrics = cacheMetrics
        self.resilienceMetrics = resilienceMetrics
        self.mirrorMetrics = mirrorMetrics
        self.mirrorStore = mirrorStore
        self.accessLog = accessLog
        self.checkSENSAtStart = checkSENSAtStart
        self.onServerRunning = onServerRunning
    }
}
