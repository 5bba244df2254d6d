import Logging

/// Who is asking, for the request being handled: set by the HTTP layer's request scope, read by its audit lines
/// and by the layers below, which log with the request's
/// logger so that their lines carry its id.
///
/// The logger and the caller are made when a line asks for them, not per request: most requests log nothing but
/// their access-log line, and adding the id to a logger's metadata, or formatting the peer's address, cost more
/// than a cached check's own work (Benchmarks/README.md, "Hot paths").
public struct RequestMetadata: Sendable {
    public var requestID: String
    /// The caller's sane `X-Caller`, if it sent one.
    let callerHeader: String?
    let peerAddress: @Sendable () -> String?
    /// The framework's logger for the request, with the framework's own request id.
    let baseLogger: Logger
    /// The request's trace and span (hex), when traces are on: its log lines carry them beside its id.
    public var traceID: String?
    public var spanID: String?

    public init(
        requestID: String,
        callerHeader: String?,
        peerAddress: @escaping @Sendable () -> String?,
        logger: Logger
    ) {
        self.requestID = requestID
        self.callerHeader = callerHeader
        self.peerAddress = peerAddress
        self.baseLogger = logger
    }

    /// The `X-Caller` header when sane, otherwise the peer address.
    public var caller: String { callerHeader ?? peerAddress() ?? "unknown" }

    /// The request's logger: its lines carry `request_id` (one id per line: it replaces the framework's own).
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "hb.request.id"] = nil
        logger[metadataKey: "request_id"] = .string(requestID)
        if let traceID, let spanID {
            logger[metadataKey: "trace_id"] = .string(traceID)
            logger[metadataKey: "span_id"] = .string(spanID)
        }
        return logger
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
