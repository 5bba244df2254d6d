import CallScope
import Logging
import SENSClient
import SENSCore
import Tracing

/// Wraps one service's SENS calls with the gateway's defences: a circuit breaker, a bulkhead, and retries within
/// the request's deadline (see `RetryPolicy`). Every answer other than an outage counts as SENS being up. A
/// decorator of each SENS call rather than of the directory, so that a retry repeats one call of at most 1,000
/// numbers, never a whole write.
public struct ResilientUnsubscribes: SENSUnsubscribes {
    let upstream: any SENSUnsubscribes
    let policy: RetryPolicy
    public let breaker: CircuitBreaker
    let bulkhead: Bulkhead
    let metrics: any ResilienceMetrics
    let logger: Logger
    /// Whether SENS last accepted or refused the gateway's keys for reading.
    public let credentials: CredentialsHealth
    /// Each attempt's span (its operation, number and outcome), when traces are on.
    let tracer: any Tracer

    public init(
        upstream: any SENSUnsubscribes,
        policy: RetryPolicy,
        breaker: CircuitBreaker,
        bulkhead: Bulkhead,
        metrics: any ResilienceMetrics = ResilienceStatistics(),
        credentials: CredentialsHealth? = nil,
        tracer: any Tracer = NoOpTracer(),
        logger: Logger = Logger(label: "sens-gateway")
    ) {
        self.tracer = tracer
        self.upstream = upstream
        self.policy = policy
        self.breaker = breaker
        self.bulkhead = bulkhead
        self.metrics = metrics
        self.credentials = credentials ?? CredentialsHealth()
        self.logger = logger
    }

    public func register(_ targets: SENSTargets) async throws(SENSError) -> [SENSRecord] {
        try await call("register", isWrite: true) { () throws(SENSError) in try await upstream.register(targets) }
    }

    public func list(_ query: SENSListQuery) async throws(SENSError) -> [SENSRecord] {
        try await call("list", isWrite: false) { () throws(SENSError) in try await upstream.list(query) }
    }

    public func delete(_ targets: SENSTargets) async throws(SENSError) {
        try await call("delete", isWrite: true) { () throws(SENSError) in try await upstream.delete(targets) }
    }

    private func call<Value>(
        _ operation: String,
        isWrite: Bool,
        _ attempt: () async throws(SENSError) -> Value
    ) async throws(SENSError) -> Value {
        var generator = SystemRandomNumberGenerator()
        var attempts = 0
        // Whether an earlier attempt of a write may have been applied. The caller gets the last attempt's failure
        // (its status, its Retry-After), marked so that the write is never reported as certainly not applied.
        var ambiguous = false
        func giveUp(_ error: SENSError) -> SENSError {
            ambiguous && !error.mayHaveBeenApplied ? .afterAmbiguousAttempt(error) : error
        }
        while true {
            attempts += 1
            if let remaining = RequestDeadline.remaining, remaining <= .zero {
                throw giveUp(.timedOut(.deadline(sent: false)))
            }
            do {
                try breaker.permit()
            } catch {
                metrics.recordRejection(operation: operation, reason: "circuit_open")
                throw giveUp(error)
            }
            let started = ContinuousClock.now
            do {
                let value = try await traced(operation, attempt: attempts) { () async throws(SENSError) in
                    try await bulkhead.run(attempt)
                }
                metrics.recordAttempt(operation: operation, outcome: "success", duration: started.duration(to: .now))
                breaker.recordSuccess()
                if !isWrite { credentials.recordAccepted() }
                return value
            } catch {
                if case .overloaded = error {
                    metrics.recordRejection(operation: operation, reason: "overloaded")
                    breaker.releasePermit()  // nothing was sent: neither proof of an outage nor a probe result
                    throw giveUp(error)
                }
                if case .timedOut(.deadline(sent: false)) = error {
                    breaker.releasePermit()  // the request's time ran out before the call went: not SENS's doing
                    throw giveUp(error)
                }
                metrics.recordAttempt(
                    operation: operation,
                    outcome: error.outcomeLabel,
                    duration: started.duration(to: .now)
                )
                if error.isOutage { breaker.recordFailure() } else { breaker.recordSuccess() }
                if error.isCredentialRefusal {
                    metrics.recordCredentialsRejected()
                    // Readiness follows the read path only: a key allowed to read but not to write keeps the
                    // service's checks served.
                    if !isWrite { credentials.recordRefused() }
                }
                if isWrite && error.mayHaveBeenApplied { ambiguous = true }
                guard RetryPolicy.isRetryable(error), attempts < policy.maxAttempts else { throw giveUp(error) }
                let delay = policy.delay(after: attempts, error: error, using: &generator)
                if let remaining = RequestDeadline.remaining, delay >= remaining { throw giveUp(error) }
                metrics.recordRetry(operation: operation)
                RequestMetadata.logger(or: logger).notice(
                    "retrying SENS call",
                    metadata: [
                        "operation": "\(operation)", "attempt": "\(attempts + 1)", "after": "\(error.outcomeLabel)",
                        "delay_ms": "\(delay / .milliseconds(1))",
                    ]
                )
                // Cancelled while waiting (the caller went away): the last failure is the answer.
                do { try await Task.sleep(for: delay) } catch _ { throw giveUp(error) }
            }
        }
    }
}

extension ResilientUnsubscribes {
    /// One attempt in a span of its own, a child of the request's or the sync's: SENS gets it as its parent.
    private func traced<Value>(
        _ operation: String,
        attempt number: Int,
        _ body: () async throws(SENSError) -> Value
    ) async throws(SENSError) -> Value {
        let span = tracer.startSpan("SENS \(operation)", ofKind: .client)
        defer { span.end() }
        span.attributes["sens.operation"] = operation
        span.attributes["sens.attempt"] = number
        let result: Result<Value, SENSError> = await ServiceContext.$current.withValue(span.context) {
            do throws(SENSError) {
                return .success(try await body())
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let value):
            span.attributes["sens.outcome"] = "success"
            return value
        case .failure(let error):
            span.attributes["sens.outcome"] = error.outcomeLabel
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }
}

extension SENSError {
    /// Failures that say SENS is down or unhealthy, as the circuit breaker counts them.
    var isOutage: Bool {
        switch self {
        case .unavailable, .unreachable, .failed, .timedOut, .invalidResponse: true
        case .refused, .throttled, .circuitOpen, .overloaded: false
        case .afterAmbiguousAttempt(let last): last.isOutage
        }
    }

    var outcomeLabel: String {
        switch self {
        case .refused: "refused"
        case .throttled: "throttled"
        case .unavailable, .unreachable: "unavailable"
        case .failed: "failed"
        case .invalidResponse: "invalid_response"
        case .timedOut: "timed_out"
        case .circuitOpen: "circuit_open"
        case .overloaded: "overloaded"
        case .afterAmbiguousAttempt(let last): last.outcomeLabel
        }
    }
}
