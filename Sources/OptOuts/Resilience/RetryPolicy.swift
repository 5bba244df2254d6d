import SENSClient
import SENSCore

/// How failed SENS calls are retried: every SENS operation is idempotent, so connection errors, 5xx, unreadable
/// answers, attempt time-outs and 429 are retried, with exponential back-off and full jitter, honouring
/// `Retry-After`, within the request's deadline and `maxAttempts`. Other 4xx are never retried.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    /// `maxAttempts` is a setting (`ResilienceSettings`); the delays are the policy's own tuning.
    public init(maxAttempts: Int, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(2)) {
        precondition(maxAttempts >= 1)
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    static func isRetryable(_ error: SENSError) -> Bool {
        switch error {
        case .unavailable, .unreachable, .failed, .invalidResponse, .timedOut, .throttled: true
        case .refused, .circuitOpen, .overloaded, .afterAmbiguousAttempt: false
        }
    }

    /// The wait before attempt `attempt + 1`: what `Retry-After` asks for, else a uniformly random share of the
    /// exponential bound ("full jitter").
    func delay(after attempt: Int, error: SENSError, using generator: inout some RandomNumberGenerator) -> Duration {
        if case .throttled(let seconds?) = error { return .seconds(seconds) }
        let exponential = baseDelay * (1 << min(attempt - 1, 20))
        let boundMilliseconds = max(1, Int64((min(exponential, maxDelay) / .milliseconds(1)).rounded()))
        return .milliseconds(Int64.random(in: 0...boundMilliseconds, using: &generator))
    }
}
