import Synchronization

/// Whether SENS refused the service's NCP keys on its last verdict about reading (a list call answered 401 or
/// 403). Retrying does not help then, so the service reports itself not ready until a list call succeeds again:
/// a request's, or the periodic probe's (`CredentialsProbe`), which is what clears it once the keys are fixed
/// while no traffic comes.
public final class CredentialsHealth: Sendable {
    private let refused = Atomic<Bool>(false)

    public init() {}

    public var isRefused: Bool { refused.load(ordering: .relaxed) }

    public func recordRefused() {
        refused.store(true, ordering: .relaxed)
    }

    public func recordAccepted() {
        // Loaded first: a store on every successful call would contend for the cache line on the hot path.
        if refused.load(ordering: .relaxed) { refused.store(false, ordering: .relaxed) }
    }
}
