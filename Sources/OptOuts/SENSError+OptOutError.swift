import SENSClient

extension OptOutError {
    /// A SENS failure in the domain's words, with the sentence callers read (nothing from the upstream body).
    init(_ error: SENSError) {
        let applied = error.mayHaveBeenApplied
        switch error.lastFailure {
        case .refused(let status) where status == 401 || status == 403:
            self.init(
                .credentialsRefused,
                "SENS refused the gateway's credentials (\(status)): its NCP keys, their permissions or its clock need attention; retrying will not help",
                mayHaveBeenApplied: applied
            )
        case .refused(404):
            self.init(
                .refused,
                "SENS does not know the gateway's configured service id (404)",
                mayHaveBeenApplied: applied
            )
        case .refused(let status):
            self.init(.refused, "SENS refused the call (\(status))", mayHaveBeenApplied: applied)
        case .throttled(let seconds):
            self.init(
                .throttled,
                "SENS is throttling the gateway; retry after \(seconds ?? 1) s",
                retryAfterSeconds: seconds ?? 1,
                mayHaveBeenApplied: applied
            )
        case .unavailable(let reason):
            self.init(.unavailable, "SENS is unavailable (\(reason))", mayHaveBeenApplied: applied)
        case .unreachable(let reason):
            self.init(.unavailable, "SENS is unreachable (\(reason))", mayHaveBeenApplied: applied)
        case .failed(let status):
            self.init(.failed, "SENS failed (\(status))", mayHaveBeenApplied: applied)
        case .invalidResponse(let reason):
            self.init(.failed, "SENS answered something unreadable (\(reason))", mayHaveBeenApplied: applied)
        case .timedOut(.attempt(let milliseconds)):
            self.init(.timedOut, "SENS did not answer within \(milliseconds) ms", mayHaveBeenApplied: applied)
        case .timedOut(.deadline):
            self.init(.timedOut, "the request's deadline passed before SENS answered", mayHaveBeenApplied: applied)
        case .timedOut(.upstream):
            self.init(.timedOut, "SENS reported a timeout (504)", mayHaveBeenApplied: applied)
        case .circuitOpen(let seconds):
            self.init(
                .unavailable,
                "SENS has been failing, so the gateway is not calling it for \(seconds) s (circuit open)",
                retryAfterSeconds: seconds,
                mayHaveBeenApplied: applied
            )
        case .overloaded:
            self.init(
                .unavailable,
                "too many SENS calls are under way; try again shortly",
                retryAfterSeconds: 1,
                mayHaveBeenApplied: applied
            )
        case .afterAmbiguousAttempt:
            preconditionFailure("lastFailure is never the wrapper")
        }
    }
}
