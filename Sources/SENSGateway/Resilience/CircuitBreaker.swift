import SENSCore
import Synchronization

/// Stops calling SENS while it is failing: after `failureThreshold` consecutive failures it opens and refuses
/// calls at once; after `cooldown` it lets one probe through (half-open), and closes again when that succeeds.
public final class CircuitBreaker: Sendable {
    public enum State: String, Sendable {
        case closed
        case open
        case halfOpen = "half_open"
    }

    private struct Inner {
        var state: State = .closed
        var consecutiveFailures = 0
        var openedAt: ContinuousClock.Instant?
        var probeInFlight = false
    }

    public let failureThreshold: Int
    public let cooldown: Duration
    private let inner = Mutex(Inner())
    private let onStateChange: @Sendable (State) -> Void

    public init(failureThreshold: Int = 5, cooldown: Duration = .seconds(5), onStateChange: @escaping @Sendable (State) -> Void = { _ in }) {
        precondition(failureThreshold >= 1)
        self.failureThreshold = failureThreshold
        self.cooldown = cooldown
        self.onStateChange = onStateChange
    }

    public var state: State { inner.withLock { $0.state } }

    /// Lets a call through, or refuses it with `.circuitOpen` and the seconds until a probe may go.
    func permit() throws(SENSError) {
        let now = ContinuousClock.now
        let (refusal, changed): (SENSError?, State?) = inner.withLock { inner in
            switch inner.state {
            case .closed:
                return (nil, nil)
            case .open:
                let reopensAt = inner.openedAt! + cooldown
                guard now >= reopensAt else {
                    return (.circuitOpen(retryAfterSeconds: Self.wholeSeconds(now.duration(to: reopensAt))), nil)
                }
                inner.state = .halfOpen
                inner.probeInFlight = true
                return (nil, .halfOpen)
            case .halfOpen:
                guard !inner.probeInFlight else { return (.circuitOpen(retryAfterSeconds: 1), nil) }
                inner.probeInFlight = true
                return (nil, nil)
            }
        }
        if let changed { onStateChange(changed) }
        if let refusal { throw refusal }
    }

    /// SENS answered (any answer but an outage): the circuit closes.
    func recordSuccess() {
        let changed: State? = inner.withLock { inner in
            let was = inner.state
            inner = Inner()
            return was == .closed ? nil : .closed
        }
        if let changed { onStateChange(changed) }
    }

    /// SENS was unreachable, failed or timed out.
    func recordFailure() {
        let now = ContinuousClock.now
        let changed: State? = inner.withLock { inner in
            inner.probeInFlight = false
            switch inner.state {
            case .halfOpen:
                inner.state = .open
                inner.openedAt = now
                return .open
            case .closed:
                inner.consecutiveFailures += 1
                guard inner.consecutiveFailures >= failureThreshold else { return nil }
                inner.state = .open
                inner.openedAt = now
                return .open
            case .open:
                return nil
            }
        }
        if let changed { onStateChange(changed) }
    }

    private static func wholeSeconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }
}
