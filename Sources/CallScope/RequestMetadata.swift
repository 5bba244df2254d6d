import Logging

/// Who is asking, for the request being handled: set by the HTTP layer's request logging, read by its audit
/// lines (the generated handlers do not see the request context) and by the layers below, which log with the
/// request's logger so that their lines carry its id.
public struct RequestMetadata: Sendable {
    public var requestID: String
    /// The `X-Caller` header when sane, otherwise the peer address.
    public var caller: String
    public var logger: Logger

    public init(requestID: String, caller: String, logger: Logger) {
        self.requestID = requestID
        self.caller = caller
        self.logger = logger
    }

    @TaskLocal public static var current: RequestMetadata?

    /// The logger of the request being handled (its lines carry the request id), else `fallback`: what code
    /// below the HTTP layer logs with, so that a SENS failure or retry caused by a request names it.
    /// The fallback's `service` label is kept on the request's logger, so the line says which service it was.
    public static func logger(or fallback: Logger) -> Logger {
        guard var logger = current?.logger else { return fallback }
        if let service = fallback[metadataKey: "service"] { logger[metadataKey: "service"] = service }
        return logger
    }
}
