import Synchronization

/// Whether the shared store is known to be out of reach, and why. Set when a call or this replica's session fails
/// to reach the server (a refused or dropped connection, no answer within the time-out); cleared when the session
/// opens or answers its ping (every second). Meanwhile store calls fail at once with the cause instead of each
/// waiting out the time-out: a write through the gateway is answered at once with what SENS did.
final class StoreOutage: Sendable {
    private let state = Mutex<(cause: String, since: ContinuousClock.Instant)?>(nil)

    /// The server could not be reached: `cause` says how (the latest one is kept, the outage's start is not moved).
    func failed(_ cause: String) {
        state.withLock { $0 = (cause, $0?.since ?? .now) }
    }

    /// The server answered.
    func reached() {
        state.withLock { $0 = nil }
    }

    /// Why the store is out of reach now, and for how long; nil when it is not known to be.
    var explanation: String? {
        state.withLock { outage in
            outage.map { outage in
                let seconds = (ContinuousClock.now - outage.since).components.seconds
                return "the shared store has been out of reach for \(seconds) s (\(outage.cause))"
            }
        }
    }
}
