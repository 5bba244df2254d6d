import SENSCore

/// The three SENS unsubscribe operations, with every failure already classified.
public protocol SENSClient: Sendable {
    /// Registers at most 1,000 normalized numbers; returns SENS's records.
    func register(_ numbers: [String]) async throws(SENSError) -> [OptOutRecord]
    /// One page of the list.
    func list(_ query: SENSListQuery) async throws(SENSError) -> [OptOutRecord]
    /// Removes at most 1,000 normalized numbers.
    func delete(_ numbers: [String]) async throws(SENSError)
}

/// One opt-out as SENS holds it, its zone-less `registerTime` already read into an instant (once, by the client).
public struct OptOutRecord: Sendable, Equatable {
    public var phoneNumber: String
    public var source: SENSRegisterType
    public var registeredAtMilliseconds: Int64

    public init(phoneNumber: String, source: SENSRegisterType, registeredAtMilliseconds: Int64) {
        self.phoneNumber = phoneNumber
        self.source = source
        self.registeredAtMilliseconds = registeredAtMilliseconds
    }
}

/// Why a SENS call did not succeed. Carries no upstream body: callers never see one.
public enum SENSError: Error, Sendable, Equatable {
    /// SENS (or its API Gateway) refused the call with this 4xx status (not 429).
    case refused(status: Int)
    /// SENS throttled the gateway (429); seconds from `Retry-After`, when it sent one.
    case throttled(retryAfterSeconds: Int?)
    /// SENS could not be reached, or said it is unavailable.
    case unavailable(String)
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

    public enum Timeout: Sendable, Equatable {
        /// One attempt took longer than the attempt timeout.
        case attempt(milliseconds: Int)
        /// The incoming request's deadline passed.
        case deadline
        /// SENS itself answered 504.
        case upstream
    }
}
