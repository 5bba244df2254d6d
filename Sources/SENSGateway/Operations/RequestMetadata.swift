import Logging

/// Who is asking, for the request being handled: set by `RequestLoggingMiddleware`, read by the API layer's
/// audit lines (the generated handlers do not see the request context).
public struct RequestMetadata: Sendable {
    public var requestID: String
    /// The `X-Caller` header when sane, otherwise the peer address.
    public var caller: String
    public var logger: Logger

    @TaskLocal public static var current: RequestMetadata?
}
