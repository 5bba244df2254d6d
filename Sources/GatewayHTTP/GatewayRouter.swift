import GatewayAPI
import Hummingbird
import OpenAPIHummingbird
import OpenAPIRuntime
import OptOuts

/// The gateway's HTTP surface: the router generated from `openapi.yaml` over the given services, with its
/// middleware, outermost first: request id and access log, metrics, request checks and problems, deadline.
public enum GatewayRouter {
    public static func build(services: OptOutServices, metrics: any GatewayHTTPMetrics, maxBodyBytes: Int,
                             deadline: Duration = .seconds(10), responseUTCOffsetSeconds: Int = 9 * 3600) throws -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: RequestLoggingMiddleware(requestIDs: RequestIDGenerator()))
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ProblemMiddleware(maxBodyBytes: maxBodyBytes, routes: .embedded,
                                                 parameterProblems: APIMapping.parameterProblems))
        router.add(middleware: DeadlineMiddleware(budget: deadline))
        try GatewayAPIImplementation(services: services, metrics: metrics).registerHandlers(
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
}
