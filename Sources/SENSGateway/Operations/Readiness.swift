/// Why this replica should not receive traffic now, if it should not.
public protocol ReadinessProbe: Sendable {
    func notReadyReason() -> String?
}

/// Not ready while the circuit breaker to SENS is open.
public struct CircuitBreakerReadiness: ReadinessProbe {
    let breaker: CircuitBreaker

    public init(breaker: CircuitBreaker) {
        self.breaker = breaker
    }

    public func notReadyReason() -> String? {
        breaker.state == .open ? "the SENS circuit breaker is open" : nil
    }
}

/// Always ready (for routers built around a stub SENS client).
public struct AlwaysReady: ReadinessProbe {
    public init() {}
    public func notReadyReason() -> String? { nil }
}
