/// How a mirror syncs and how long it vouches for what it holds.
public struct MirrorSettings: Sendable, Equatable {
    /// Time between incremental syncs.
    public var syncInterval: Duration
    /// An incremental sync starts this long before the start of the last whole sync (clocks that differ, records
    /// stamped a little late).
    public var overlapMilliseconds: Int64
    /// Time between full passes that find removals made outside the gateway.
    public var reconcileInterval: Duration
    /// The mirror answers only while its last successful sync started less than this long ago.
    public var maxStalenessMilliseconds: Int64
    /// A failed sync is tried again after this, doubling up to `syncInterval`.
    public var retryDelay: Duration
    /// With a shared store: how often a replica reads the change table when no notification came (the safety net
    /// under LISTEN/NOTIFY), and how old its last successful read may be while it still vouches: a replica that
    /// cannot read the store cannot know what the other replicas wrote.
    public var followInterval: Duration
    public var followBoundMilliseconds: Int64
    /// Time between verification passes (`MirrorVerification`): a difference with SENS, in any time range, is found
    /// within this plus the re-read, but for the pass's blind spot. The mirror vouches only while the last
    /// completed pass started less than `maxStalenessMilliseconds` ago.
    public var verifyInterval: Duration
    /// Records a verification bucket holds: one SENS call probes each.
    public var verifyBucketRecords: Int
    /// SENS calls a service's syncs make at once (full passes read that many ranges concurrently); halved while
    /// SENS throttles.
    public var syncConcurrency: Int
    /// How long a change is kept in the change feed (nil: for ever); older ones are pruned (`ChangePruning`).
    public var changeRetention: Duration?

    /// The settings' defaults are the settings table's (`MirrorSettings.defaults`, in the application); the
    /// rest are the mirror's own tuning.
    public init(
        syncInterval: Duration,
        overlapMilliseconds: Int64,
        reconcileInterval: Duration,
        maxStalenessMilliseconds: Int64,
        retryDelay: Duration = .seconds(1),
        followInterval: Duration = .milliseconds(500),
        followBoundMilliseconds: Int64 = 2_000,
        verifyInterval: Duration,
        verifyBucketRecords: Int = 10_000,
        syncConcurrency: Int,
        changeRetention: Duration? = nil
    ) {
        precondition(verifyBucketRecords >= 1 && syncConcurrency >= 1)
        self.verifyInterval = verifyInterval
        self.verifyBucketRecords = verifyBucketRecords
        self.syncConcurrency = syncConcurrency
        self.changeRetention = changeRetention
        self.syncInterval = syncInterval
        self.overlapMilliseconds = overlapMilliseconds
        self.reconcileInterval = reconcileInterval
        self.maxStalenessMilliseconds = maxStalenessMilliseconds
        self.retryDelay = retryDelay
        self.followInterval = followInterval
        self.followBoundMilliseconds = followBoundMilliseconds
    }
}

/// What a mirror reports; the operations layer exports it as metrics.
public protocol MirrorMetrics: Sendable {
    /// A sync ended: `kind` is `incremental` or `full`, `outcome` `ok` or `failed`.
    func recordSync(service: String, kind: String, outcome: String, duration: Duration, sensCalls: Int)
    func recordRecords(service: String, count: Int)
    func recordChanges(service: String, added: Int, removed: Int)
    /// Seconds since the last successful sync started, or nil before the first one.
    func recordLag(service: String, seconds: Double?)
    /// A verification pass ended (`report.outcome` is `ok` when it completed).
    func recordVerification(service: String, report: VerificationReport)
    /// Numbers whose state the mirror does not vouch for until SENS has been asked.
    func recordInDoubt(service: String, count: Int)
}

/// Reports nothing.
public struct NoMirrorMetrics: MirrorMetrics {
    public init() {}
    public func recordSync(service: String, kind: String, outcome: String, duration: Duration, sensCalls: Int) {}
    public func recordRecords(service: String, count: Int) {}
    public func recordChanges(service: String, added: Int, removed: Int) {}
    public func recordLag(service: String, seconds: Double?) {}
    public func recordVerification(service: String, report: VerificationReport) {}
    public func recordInDoubt(service: String, count: Int) {}
}

extension Duration {
    /// The whole duration in milliseconds.
    var totalMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
