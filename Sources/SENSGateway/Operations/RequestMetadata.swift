import Logging

/// Who is asking, for the request being handled: set by `RequestLoggingMiddleware`, read by the API layer's
/// audit lines (the generated handlers do not see the request context).
public struct RequestMetadata: Sendable {
    public var requestID: String
    /// The `X-Caller` header when sane, otherwise the peer address.
    public var caller: String
    public var logger: Logger

    @TaskLocal public static var current: RequestMetadata?

    /// The logger of the request being handled (its lines carry the request id), else `fallback`: what code
    /// below the HTTP layer logs with, so that a SENS failure or retry caused by a request names it.
    public static func logger(or fallback: Logger) -> Logger {
        current?.logger ?? fallback
    }
}
