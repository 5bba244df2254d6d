import Synchronization

/// Hooks through which the resilience layer reports what it does; the operations work exports them as metrics.
public protocol ResilienceMetrics: Sendable {
    /// One SENS attempt finished: `outcome` is "success", "refused", "throttled", "unavailable", "failed",
    /// "invalid_response" or "timed_out".
    func recordAttempt(operation: String, outcome: String, duration: Duration)
    func recordRetry(operation: String)
    /// A call refused without trying: "circuit_open" or "overloaded".
    func recordRejection(operation: String, reason: String)
    func recordBreakerState(_ state: CircuitBreaker.State)
    /// SENS refused the gateway's keys (401 or 403).
    func recordCredentialsRejected()
}

/// Counts in memory; what tests read, and a ready source for an exporter.
public final class ResilienceStatistics: ResilienceMetrics {
    public struct Counts: Sendable, Equatable {
        public var attempts: [String: Int] = [:]
        public var retries = 0
        public var rejections: [String: Int] = [:]
        public var breakerStates: [CircuitBreaker.State] = []
        public var credentialsRejected = 0
    }

    private let counts = Mutex(Counts())

    public init() {}

    public var snapshot: Counts { counts.withLock { $0 } }

    public func recordAttempt(operation: String, outcome: String, duration: Duration) {
        counts.withLock { $0.attempts[outcome, default: 0] += 1 }
    }

    public func recordRetry(operation: String) { counts.withLock { $0.retries += 1 } }

    public func recordRejection(operation: String, reason: String) {
        counts.withLock { $0.rejections[reason, default: 0] += 1 }
    }

    public func recordBreakerState(_ state: CircuitBreaker.State) { counts.withLock { $0.breakerStates.append(state) } }

    public func recordCredentialsRejected() { counts.withLock { $0.credentialsRejected += 1 } }
}
