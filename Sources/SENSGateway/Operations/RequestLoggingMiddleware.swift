import HTTPTypes
import Hummingbird
import Logging

/// Gives every request an id (the caller's `X-Request-Id` when it is sane, a new one otherwise), returns it in
/// the response, puts it in every log line of the request, and logs one line per request: method, route
/// template (never the raw path, which may hold a phone number), status and duration.
struct RequestLoggingMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let requestID = request.headers[.requestID].flatMap(Self.sane) ?? Self.newID()
        let caller = request.headers[.caller].flatMap(Self.sane) ?? context.peerAddress ?? "unknown"
        var context = context
        context.logger[metadataKey: "request_id"] = .string(requestID)
        let started = ContinuousClock.now
        let metadata = RequestMetadata(requestID: requestID, caller: caller, logger: context.logger)
        var status = 500
        defer {
            let milliseconds = Double((started.duration(to: .now) / .microseconds(1)).rounded()) / 1000
            context.logger.info("request", metadata: [
                "method": .string(request.method.rawValue), "route": .string(context.endpointPath ?? "unmatched"),
                "status": .stringConvertible(status), "duration_ms": .stringConvertible(milliseconds),
            ])
        }
        var response = try await RequestMetadata.$current.withValue(metadata) { try await next(request, context) }
        status = response.status.code
        response.headers[.requestID] = requestID
        return response
    }

    /// 1–128 characters of letters, digits and `._:-`; anything else is replaced, never logged.
    static func sane(_ value: String) -> String? {
        guard (1...128).contains(value.utf8.count),
            value.utf8.allSatisfy({ $0.isASCIILetterOrDigit || [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-")].contains($0) })
        else { return nil }
        return value
    }

    /// 128 random bits as 32 lowercase hex digits.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var bytes = [UInt8](repeating: 0, count: 32)
        for half in 0..<2 {
            var bits = generator.next()
            for index in 0..<16 {
                bytes[half * 16 + index] = digits[Int(bits & 0xF)]
                bits >>= 4
            }
        }
        return String(decoding: bytes, as: UTF8.self)
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
