/// Why this replica should not receive traffic now, if it should not.
public protocol ReadinessProbe: Sendable {
    func notReady() -> NotReady?
}

/// A machine-readable reason and a sentence for people.
public struct NotReady: Sendable, Equatable {
    public var reason: String
    public var detail: String

    public init(reason: String, detail: String) {
        self.reason = reason
        self.detail = detail
    }
}

/// Not ready while SENS refuses the gateway's keys (until a call succeeds again), or while the circuit breaker
/// to SENS is open.
public struct SENSReadiness: ReadinessProbe {
    let breaker: CircuitBreaker
    let credentials: CredentialsHealth

    public init(breaker: CircuitBreaker, credentials: CredentialsHealth) {
        self.breaker = breaker
        self.credentials = credentials
    }

    public func notReady() -> NotReady? {
        if credentials.isRefused {
            return NotReady(reason: "sens_credentials_rejected",
                            detail: "SENS refused the gateway's NCP keys (401/403); they need attention")
        }
        if breaker.state == .open {
            return NotReady(reason: "sens_circuit_open", detail: "the SENS circuit breaker is open")
        }
        return nil
    }
}

/// Always ready (for routers built around a stub SENS client).
public struct AlwaysReady: ReadinessProbe {
    public init() {}
    public func notReady() -> NotReady? { nil }
}
