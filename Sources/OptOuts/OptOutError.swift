/// Why an opt-out operation could not be answered: the one error type of the domain. `reason` is the sentence
/// callers read; it never holds an upstream body or a credential.
public struct OptOutError: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The source refused the call (not for the keys): retrying the same call will not help.
        case refused
        /// The source refused the gateway's credentials: retrying will not help until they are fixed.
        case credentialsRefused
        /// The source throttled the gateway; `retryAfterSeconds` says when to come back.
        case throttled
        /// The source is down, unreachable, or the gateway is shedding load; may come with `retryAfterSeconds`.
        case unavailable
        /// The source failed or answered something unreadable.
        case failed
        /// No answer in time.
        case timedOut
    }

    public var kind: Kind
    public var reason: String
    public var retryAfterSeconds: Int?
    /// For a write: whether the failed call may have been applied (it went out and no answer refused it).
    public var mayHaveBeenApplied: Bool

    public init(_ kind: Kind, _ reason: String, retryAfterSeconds: Int? = nil, mayHaveBeenApplied: Bool = false) {
        self.kind = kind
        self.reason = reason
        self.retryAfterSeconds = retryAfterSeconds
        self.mayHaveBeenApplied = mayHaveBeenApplied
    }
}
