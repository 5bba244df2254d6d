import Synchronization

/// Whether SENS refused the gateway's NCP keys on its last verdict (401 or 403). Retrying does not help then, so
/// the replica reports itself not ready until a later call succeeds with the same keys.
public final class CredentialsHealth: Sendable {
    private let refused = Atomic<Bool>(false)
    private let metrics: any ResilienceMetrics

    public init(metrics: any ResilienceMetrics) {
        self.metrics = metrics
    }

    public var isRefused: Bool { refused.load(ordering: .relaxed) }

    func recordRefused() {
        metrics.recordCredentialsRejected()
        refused.store(true, ordering: .relaxed)
    }

    func recordAccepted() {
        // Loaded first: a store on every successful call would contend for the cache line on the hot path.
        if refused.load(ordering: .relaxed) { refused.store(false, ordering: .relaxed) }
    }
}
