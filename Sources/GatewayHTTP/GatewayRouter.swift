import GatewayAPI
import Hummingbird
import OpenAPIHummingbird
import OpenAPIRuntime
import OptOutMirror
import OptOuts
import SENSCore

/// The gateway's HTTP surface: the router generated from `openapi.yaml` over the given services, with its
/// middleware, outermost first: the request's scope (id, deadline, access log, metrics), the hot reads answered
/// as bytes, request checks and problems, the hot writes read by hand, the filter.
public enum GatewayRouter {
    /// `mirrors` holds the mirror of each service that has one, by service name. `hotPaths: false` leaves every
    /// read and write to the generated handlers, which `HotAnswerTests` compares the hot paths' answers with.
    public static func build(services: OptOutServices, mirrors: [String: any MirrorReading] = [:], metrics: any GatewayHTTPMetrics,
                             maxBodyBytes: Int, filterMaxBodyBytes: Int = 64 << 20, mirrorRetryAfterSeconds: Int = 30,
                             clock: any EpochClock = SystemEpochClock(), deadline: Duration = .seconds(10),
                             responseUTCOffsetSeconds: Int = 9 * 3600, accessLog: any AccessLog = LoggerAccessLog(),
                             hotPaths: Bool = true) throws -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        let answers = OptOutAnswers(utcOffsetSeconds: responseUTCOffsetSeconds)
        router.add(middleware: RequestScopeMiddleware(requestIDs: RequestIDGenerator(), accessLog: accessLog, metrics: metrics, deadline: deadline))
        if hotPaths { router.add(middleware: HotReadMiddleware(services: services, mirrors: mirrors,
                                                                               mirrorHandlers: MirrorHandlers(retryAfterSeconds: mirrorRetryAfterSeconds),
                                                                               answers: answers)) }
        router.add(middleware: ProblemMiddleware(maxBodyBytes: maxBodyBytes, deadline: deadline, streamedBodyLimits: streamedBodyLimits(filterMaxBodyBytes: filterMaxBodyBytes),
                                                 routes: .embedded, parameterProblems: APIMapping.parameterProblems))
        if hotPaths { router.add(middleware: HotWriteMiddleware(services: services, handlers: OptOutHandlers(metrics: metrics, answers: answers))) }
        router.add(middleware: FilterMiddleware(services: services, mirrors: mirrors, maxBodyBytes: filterMaxBodyBytes,
                                                retryAfterSeconds: mirrorRetryAfterSeconds, responseUTCOffsetSeconds: responseUTCOffsetSeconds,
                                                clock: clock))
        try GatewayAPIImplementation(services: services, mirrors: mirrors, metrics: metrics, mirrorRetryAfterSeconds: mirrorRetryAfterSeconds,
                                     answers: answers)
            .registerHandlers(
            on: router,
            // Compact JSON: the runtime's default pretty-printing made a list page half again as large and slower
            // to write (Benchmarks/README.md). Keys stay sorted: without that, the encoder's key order changes
            // from one answer to the next.
            configuration: Configuration(
                dateTranscoder: RFC3339DateTranscoder(utcOffsetSeconds: responseUTCOffsetSeconds),
                jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes]
            )
        )
        return router
    }

    /// The operations that read their body as it arrives (the filter), with their bound.
    public static func streamedBodyLimits(filterMaxBodyBytes: Int) -> [String: Int] {
        ["filterOptOuts": filterMaxBodyBytes, "filterServiceOptOuts": filterMaxBodyBytes]
    }
}
