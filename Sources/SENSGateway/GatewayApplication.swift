import AsyncHTTPClient
import GatewayAPI
import Hummingbird
import Logging
import NIOCore
import OpenAPIHummingbird
import OpenAPIRuntime
import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Builds the gateway: the router generated from `openapi.yaml`, the SENS client and its one `HTTPClient`.
public enum GatewayApplication {
    /// The router, with its dependencies passed in (tests pass a stub SENS client here).
    public static func buildRouter(optOuts: OptOutService, registerTimeOffsetSeconds: Int, maxBodyBytes: Int,
                                   deadline: Duration = .seconds(10), readiness: any ReadinessProbe = AlwaysReady(),
                                   metrics: GatewayMetrics = GatewayMetrics()) throws -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: RequestLoggingMiddleware(requestIDs: RequestIDGenerator()))
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ProblemMiddleware(
            maxBodyBytes: maxBodyBytes,
            routes: RouteTable(),
            parameterProblems: GatewayAPIImplementation.parameterProblems
        ))
        router.add(middleware: DeadlineMiddleware(budget: deadline))
        let api = GatewayAPIImplementation(
            optOuts: optOuts,
            readiness: readiness,
            metrics: metrics
        )
        try api.registerHandlers(
            on: router,
            // Compact JSON: the runtime's default pretty-printing made a list page half again as large and slower
            // to write (Benchmarks/README.md). Keys stay sorted: without that, the encoder's key order changes
            // from one answer to the next.
            configuration: Configuration(
                dateTranscoder: RFC3339DateTranscoder(utcOffsetSeconds: registerTimeOffsetSeconds),
                jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes]
            )
        )
        return router
    }

    /// The whole gateway as a Hummingbird application talking to SENS at `sens.baseURL`. `onServerRunning`
    /// receives the bound port.
    public static func build(
        http: GatewayConfiguration.HTTPSettings,
        sens: GatewayConfiguration.SENSSettings,
        cache: CacheSettings = CacheSettings(),
        resilience: ResilienceSettings = ResilienceSettings(),
        clock: any EpochClock = SystemEpochClock(),
        metrics: GatewayMetrics = GatewayMetrics(),
        cacheMetrics: (any CacheMetrics)? = nil,
        resilienceMetrics: (any ResilienceMetrics)? = nil,
        logger: Logger,
        checkSENSAtStart: Bool = false,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        // The metrics object is where cache and resilience report, unless a test passes counters of its own.
        let resilienceMetrics = resilienceMetrics ?? metrics
        let cacheMetrics = cacheMetrics ?? metrics
        let httpClient = makeHTTPClient(sens: sens, resilience: resilience)
        let breaker = makeCircuitBreaker(resilience: resilience, metrics: resilienceMetrics, logger: logger)
        let client = ResilientSENSClient(
            upstream: HTTPSENSClient(httpClient: httpClient, settings: sens, clock: clock, logger: logger),
            policy: RetryPolicy(maxAttempts: resilience.maxAttempts),
            breaker: breaker,
            bulkhead: Bulkhead(maxConcurrent: resilience.maxConcurrentCalls, maxQueued: resilience.maxQueuedCalls),
            metrics: resilienceMetrics
        )
        let router: Router<GatewayRequestContext>
        do {
            router = try buildRouter(
                optOuts: OptOutService(sens: client, cache: cache, clock: clock, metrics: cacheMetrics),
                registerTimeOffsetSeconds: sens.registerTimeOffsetSeconds,
                maxBodyBytes: http.maxBodyBytes,
                deadline: .milliseconds(resilience.deadlineMilliseconds),
                readiness: SENSReadiness(breaker: breaker, credentials: client.credentials),
                metrics: metrics
            )
        } catch {
            try? httpClient.syncShutdown()
            throw error
        }
        var app = Application(
            responder: HeadResponder(base: router.buildResponder()),
            // Connections that send or read nothing for this long are closed (slow or stalled clients).
            server: .http1(configuration: .init(
                additionalChannelHandlers: [ExpectContinueHandler(maxBodyBytes: http.maxBodyBytes)],
                idleTimeout: .seconds(Int64(http.idleTimeoutSeconds))
            )),
            configuration: ApplicationConfiguration(address: .hostname(http.host, port: http.port), serverName: "sens-gateway"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        // Services start before the server and stop after it has drained: the client outlives every request.
        app.addServices(HTTPClientService(client: httpClient))
        if checkSENSAtStart {
            app.addServices(StartupCheck(sens: client, accessKey: sens.credentials.maskedAccessKey, logger: logger))
        }
        return app
    }

    /// The process's one HTTP client, with as many pooled connections as the bulkhead lets calls run:
    /// AsyncHTTPClient's default of 8 per host would otherwise queue most admitted calls inside the client
    /// (found under load).
    static func makeHTTPClient(sens: GatewayConfiguration.SENSSettings, resilience: ResilienceSettings) -> HTTPClient {
        var pool = HTTPClient.Configuration.ConnectionPool(idleTimeout: .seconds(60))
        pool.concurrentHTTP1ConnectionsPerHostSoftLimit = resilience.maxConcurrentCalls
        return HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: HTTPClient.Configuration(
                redirectConfiguration: .disallow,
                timeout: .init(
                    connect: .milliseconds(Int64(sens.connectTimeoutMilliseconds)),
                    read: .milliseconds(Int64(sens.attemptTimeoutMilliseconds))
                ),
                connectionPool: pool
            )
        )
    }

    static func makeCircuitBreaker(resilience: ResilienceSettings, metrics: any ResilienceMetrics, logger: Logger) -> CircuitBreaker {
        metrics.recordBreakerState(.closed)
        return CircuitBreaker(
            minimumCalls: resilience.breakerMinimumCalls,
            failurePercent: resilience.breakerFailurePercent,
            windowSize: resilience.breakerWindow,
            cooldown: .milliseconds(resilience.breakerCooldownMilliseconds),
            onStateChange: { state in
                metrics.recordBreakerState(state)
                RequestMetadata.logger(or: logger).warning("SENS circuit breaker changed state", metadata: ["state": "\(state.rawValue)"])
            }
        )
    }
}
