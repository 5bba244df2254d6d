import CallScope
import HTTPTypes
import Hummingbird
import Logging

/// Gives every request an id (the caller's `X-Request-Id` when it is sane, a new one otherwise), returns it in
/// the response, puts it in every log line of the request, and logs one line per request: method, route
/// template (never the raw path, which may hold a phone number), status and duration.
struct RequestLoggingMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let requestIDs: RequestIDGenerator
    let accessLog: any AccessLog

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let requestID = request.headers[.requestID].flatMap(Self.sane) ?? requestIDs.next()
        let caller = request.headers[.caller].flatMap(Self.sane) ?? context.peerAddress ?? "unknown"
        var context = context
        // One id per line: ours replaces the framework's own.
        context.logger[metadataKey: "hb.request.id"] = nil
        context.logger[metadataKey: "request_id"] = .string(requestID)
        let started = ContinuousClock.now
        let metadata = RequestMetadata(requestID: requestID, caller: caller, logger: context.logger)
        var status = 500
        defer {
            let elapsed = started.duration(to: .now)
            let microseconds = elapsed.components.seconds * 1_000_000 + (elapsed.components.attoseconds + 500_000_000_000) / 1_000_000_000_000
            accessLog.record(AccessLogEntry(method: RequestMethod.of(request).rawValue, route: context.endpointPath ?? "unmatched",
                                            status: status, microseconds: microseconds, requestID: requestID), logger: context.logger)
        }
        var response = try await RequestMetadata.$current.withValue(metadata) { try await next(request, context) }
        status = response.status.code
        response.headers[.requestID] = requestID
        return response
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
