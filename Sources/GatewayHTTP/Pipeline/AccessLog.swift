import CallScope
import Logging

/// One finished request, as its access-log line shows it.
public struct AccessLogEntry: Sendable {
    public var method: String
    /// The route template (never the raw path, which may hold a phone number), or `unmatched`.
    public var route: String
    public var status: Int
    public var microseconds: Int64
    public var requestID: String
    /// The request's trace, when traces are on.
    public var traceID: String?

    /// `duration_ms` as the log has always shown it: milliseconds, three decimals at most, trailing zeros cut
    /// (`1.756`, `0.3`, `12.0`), the way `Double` prints them.
    public var durationText: String {
        let whole = microseconds / 1000
        let fraction = microseconds % 1000
        guard fraction != 0 else { return "\(whole).0" }
        var digits = String(fraction + 1000).dropFirst()
        while digits.last == "0" { digits.removeLast() }
        return "\(whole).\(digits)"
    }
}

/// Where the access-log lines go: one line per request, written off the request's path where it can be.
public protocol AccessLog: Sendable {
    /// Records `entry`; `metadata` gives the request's logger (its id among the metadata) to writers that log
    /// through it.
    func record(_ entry: AccessLogEntry, metadata: RequestMetadata)
}

/// Through swift-log, as any other line: the request's logger at `info`, with the entry as metadata.
public struct LoggerAccessLog: AccessLog {
    public init() {}

    public func record(_ entry: AccessLogEntry, metadata: RequestMetadata) {
        metadata.logger.info(
            "request",
            metadata: [
                "method": .string(entry.method), "route": .string(entry.route),
                "status": .stringConvertible(entry.status), "duration_ms": .string(entry.durationText),
            ]
        )
    }
}
