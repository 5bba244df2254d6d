import CallScope
import HTTPTypes
import Hummingbird
import Logging

/// Outermost: what every request gets, in one layer (each middleware is an async frame per request; three of
/// them cost more than their work, Benchmarks/README.md "Hot paths"):
/// - an id (the caller's `X-Request-Id` when it is sane, a new one otherwise), returned in the response and in
///   every log line of the request (`RequestMetadata.logger`);
/// - its deadline: SENS attempts are cut short and retries stop so that the answer, a 504 at worst, is sent in
///   time (for an operation with a body, `ProblemMiddleware` counts it again once the body is in);
/// - one access-log line (method, route template, never the raw path, which may hold a phone number, status and
///   duration) and the request metrics, both with the status the caller gets.
struct RequestScopeMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let requestIDs: RequestIDGenerator
    let accessLog: any AccessLog
    let metrics: any GatewayHTTPMetrics
    let deadline: Duration

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let requestID = request.headers[.requestID].flatMap(Self.sane) ?? requestIDs.next()
        let started = ContinuousClock.now
        let metadata = RequestMetadata(requestID: requestID, callerHeader: request.headers[.caller].flatMap(Self.sane),
                                       peerAddress: context.peerAddress, logger: context.logger)
        var status = 500
        defer {
            let elapsed = started.duration(to: .now)
            let microseconds = elapsed.components.seconds * 1_000_000 + (elapsed.components.attoseconds + 500_000_000_000) / 1_000_000_000_000
            let method = RequestMethod.of(request).rawValue, route = context.endpointPath ?? "unmatched"
            accessLog.record(AccessLogEntry(method: method, route: route, status: status, microseconds: microseconds, requestID: requestID),
                             metadata: metadata)
            metrics.recordRequest(route: route, method: method, status: status, duration: elapsed)
        }
        do {
            var response = try await RequestMetadata.$current.withValue(metadata) {
                try await RequestDeadline.$current.withValue(started + deadline) { try await next(request, context) }
            }
            status = response.status.code
            response.headers[.requestID] = requestID
            return response
        } catch {
            status = (error as? HTTPError)?.status.code ?? 500
            throw error
        }
    }

    /// 1–128 characters of letters, digits and `._:-`; anything else is replaced, never logged.
    static func sane(_ value: String) -> String? {
        guard (1...128).contains(value.utf8.count),
            value.utf8.allSatisfy({ $0.isASCIILetterOrDigit || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "-") })
        else { return nil }
        return value
    }
}

extension UInt8 {
    fileprivate var isASCIILetterOrDigit: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
    static let caller = Self("X-Caller")!
}
