import SENSClient
import SENSCore
import Synchronization

/// Stops calling SENS while it is failing: when at least `failurePercent` of the last `windowSize` calls failed
/// (counted once `minimumCalls` are in the window) it opens and refuses calls at once; after `cooldown` it lets
/// one probe through (half-open), and closes again when that succeeds.
///
/// A failure rate over a window, rather than consecutive failures, keeps a partly failing SENS (say 20% of
/// calls, which retries absorb) in use; a run of consecutive failures is almost certain at high traffic.
public final class CircuitBreaker: Sendable {
    public enum State: String, Sendable {
        case closed
        case open
        case halfOpen = "half_open"
    }

    private struct Inner {
        var state: State = .closed
        /// The last outcomes, oldest first (true: a failure), at most `windowSize`.
        var window: [Bool] = []
        var failures = 0
        var openedAt: ContinuousClock.Instant?
        var probeInFlight = false

        mutating func append(_ failed: Bool, windowSize: Int) {
            window.append(failed)
            if failed { failures += 1 }
            if window.count > windowSize, window.removeFirst() { failures -= 1 }
        }
    }

    public let minimumCalls: Int
    public let failurePercent: Int
    public let windowSize: Int
    public let cooldown: Duration
    private let inner = Mutex(Inner())
    private let onStateChange: @Sendable (State) -> Void

    public init(
        minimumCalls: Int,
        failurePercent: Int,
        windowSize: Int,
        cooldown: Duration,
        onStateChange: @escaping @Sendable (State) -> Void = { _ in }
    ) {
        precondition(minimumCalls >= 1 && windowSize >= minimumCalls && (1...100).contains(failurePercent))
        self.minimumCalls = minimumCalls
        self.failurePercent = failurePercent
        self.windowSize = windowSize
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

    /// A permitted call was not made after all (the bulkhead refused it): nothing is recorded, and a half-open
    /// probe slot is freed for the next call.
    func releasePermit() {
        inner.withLock { inner in
            if inner.state == .halfOpen { inner.probeInFlight = false }
        }
    }

    /// SENS answered (any answer but an outage): the circuit closes.
    func recordSuccess() {
        let changed: State? = inner.withLock { inner in
            guard inner.state == .closed else {
                inner = Inner()
                return .closed
            }
            inner.append(false, windowSize: windowSize)
            return nil
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
                inner.append(true, windowSize: windowSize)
                guard inner.window.count >= minimumCalls, inner.failures * 100 >= inner.window.count * failurePercent
                else {
                    return nil
                }
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
