/// A SENS-backed service is unhealthy while SENS refuses its keys (until a call succeeds again), or while its
/// circuit breaker is open.
public struct SENSServiceHealth: ServiceHealth {
    let breaker: CircuitBreaker
    let credentials: CredentialsHealth

    public init(breaker: CircuitBreaker, credentials: CredentialsHealth) {
        self.breaker = breaker
        self.credentials = credentials
    }

    public func problem() -> HealthProblem? {
        if credentials.isRefused {
            return HealthProblem(
                reason: "sens_credentials_rejected",
                detail: "SENS refused the gateway's NCP keys (401/403); they need attention"
            )
        }
        if breaker.state == .open {
            return HealthProblem(reason: "sens_circuit_open", detail: "the SENS circuit breaker is open")
        }
        return nil
    }
}
