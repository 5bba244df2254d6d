/// Why a SENS call did not succeed. Carries no upstream body: callers never see one.
public enum SENSError: Error, Sendable, Equatable {
    /// SENS (or its API Gateway) refused the call with this 4xx status (not 429).
    case refused(status: Int)
    /// SENS throttled the gateway (429); seconds from `Retry-After`, when it sent one.
    case throttled(retryAfterSeconds: Int?)
    /// SENS could not be reached, or said it is unavailable. The call may have reached SENS.
    case unavailable(String)
    /// No connection to SENS could be made: the call was never sent.
    case unreachable(String)
    /// SENS failed with this 5xx status.
    case failed(status: Int)
    /// SENS answered, but not with anything the gateway can read.
    case invalidResponse(String)
    /// SENS did not answer in time.
    case timedOut(Timeout)
    /// The circuit breaker is open: SENS was not called. Seconds until it lets a probe through.
    case circuitOpen(retryAfterSeconds: Int)
    /// Too many SENS calls are already under way or queued: this one was not made.
    case overloaded
    /// The last attempt of a retried write failed this way, after an earlier attempt that may have been applied.
    indirect case afterAmbiguousAttempt(SENSError)

    public enum Timeout: Sendable, Equatable {
        /// One attempt took longer than the attempt timeout.
        case attempt(milliseconds: Int)
        /// The incoming request's deadline passed; `sent` says whether the call had gone out by then.
        case deadline(sent: Bool)
        /// SENS itself answered 504.
        case upstream
    }
}

extension SENSError {
    /// Whether SENS may have applied a write that failed this way: the call went out and no answer said it was
    /// refused. A refusal, a throttle, and a call never made (circuit open, overloaded, no connection, deadline
    /// passed first) are certain not to have been applied.
    public var mayHaveBeenApplied: Bool {
        switch self {
        case .afterAmbiguousAttempt: true
        case .refused, .throttled, .unreachable, .circuitOpen, .overloaded: false
        case .timedOut(.deadline(let sent)): sent
        case .unavailable, .failed, .invalidResponse, .timedOut: true
        }
    }

    /// SENS (or its API Gateway) refused the gateway's keys: 401 (codes 200, 210) or 403 (230).
    public var isCredentialRefusal: Bool {
        if case .refused(let status) = lastFailure { return status == 401 || status == 403 }
        return false
    }

    /// The failure of the last attempt, without the note that an earlier one may have been applied.
    public var lastFailure: SENSError {
        if case .afterAmbiguousAttempt(let last) = self { return last.lastFailure }
        return self
    }
}
