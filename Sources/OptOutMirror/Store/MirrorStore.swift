/// Where mirrors keep their records, their change feed and their sync progress, for every service, so that they
/// survive restarts. Every method that writes is one transaction: a kill in the middle leaves the store as it
/// was before or after it, never between. Services are named by their SENS service id.
///
/// A store may be shared by several gateway processes (PostgreSQL): each keeps its index by following the
/// service's change table in sequence order, so a service's changes must commit in sequence order.
public protocol MirrorStore: Sendable {
    /// Creates or upgrades the schema (versioned migrations); run once at start-up, before anything else.
    func migrate() async throws

    /// Makes `write`: upserts `records` and deletes `removals`, appends a change (of `origin`) for each record that was new or
    /// different and for each number that was there to remove, and saves `progress`, all at once. Returns every
    /// change of the service after sequence `after`, in sequence order: those this call made, and any that other
    /// processes sharing the store made before them. A sync's write (`origin` `.sync`) is made only while this
    /// process holds the service's lead (else `MirrorLeadLost`), and leaves alone the numbers that another process
    /// wrote through its gateway after `after` (this process's sync read may predate them).
    ///
    /// With `conflictsSince` (a shared store), a write through the gateway first finds which of its numbers another
    /// write through a gateway (of any replica) recorded after that value of `gatewayWriteClock`: the two
    /// overlapped, so the order SENS applied them in is unknown. Such a number is left opted out (its removal is
    /// not made; its registration is) and reported in `conflicted`, for the caller to ask SENS.
    ///
    /// With `deadline`, the call ends by then at the latest (a write through the gateway, whose answer waits).
    func apply(service: String, _ write: MirrorWrite) async throws -> MirrorApplied

    /// A count of the service's writes through the gateways, read before a write calls SENS: its `conflictsSince`.
    func gatewayWriteClock(service: String) async throws -> Int64

    /// The service's saved progress, or nil for a service never synced.
    func progress(service: String) async throws -> MirrorProgress?

    /// Every record of the service, in batches, and the sequence of its newest change (its pruned mark when none is
    /// kept, 0 when there never was one), as of one moment.
    func loadRecords(
        service: String,
        batch: (_ records: [MirrorRecord]) -> Void
    ) async throws -> (count: Int, lastSequence: Int64)

    /// At most `limit` changes of the service after `sequence`, oldest first.
    func changes(service: String, after sequence: Int64, limit: Int) async throws -> [MirrorChange]

    /// Deletes the service's oldest changes observed before `cutoff` (epoch ms), at most `limit` of them and none
    /// after the first change observed later (what is kept stays the feed's tail), and raises the service's pruned
    /// mark (`ChangeFeedStart.prunedThrough`) to the last one deleted: one short transaction that takes no lock a
    /// write waits for. Returns how many it deleted.
    func pruneChanges(service: String, observedBefore cutoff: Int64, limit: Int) async throws -> Int

    /// Where the service's change feed starts now: its pruned mark and its oldest change kept.
    func changeFeedStart(service: String) async throws -> ChangeFeedStart

    /// A random id made when the store was created: change cursors are bound to it, so that a cursor of another
    /// store (another replica's, or a store made anew) is refused instead of pointing somewhere else.
    func storeID() async throws -> String

    /// How long one of its calls may take at most (nil: not bounded). A write through the gateway waits no longer
    /// than this for its turn to be recorded.
    var callTimeout: Duration? { get }

    /// How the processes using this store share the syncing and hear of each other's writes.
    var coordination: any MirrorCoordination { get }

    /// Closes the store; closing it again does nothing.
    func close() async throws
}

/// One write to a service's list in the store (`MirrorStore.apply`).
public struct MirrorWrite: Sendable {
    public var records: [MirrorRecord]
    public var removals: [PhoneKey]
    public var observedAtMilliseconds: Int64
    public var origin: MirrorChange.Origin
    public var progress: MirrorProgress?
    /// The sequence of the last change the caller holds: every change after it is returned.
    public var after: Int64
    public var conflictsSince: Int64?
    public var deadline: ContinuousClock.Instant?

    public init(
        records: [MirrorRecord],
        removals: [PhoneKey],
        observedAtMilliseconds: Int64,
        origin: MirrorChange.Origin,
        progress: MirrorProgress?,
        after: Int64,
        conflictsSince: Int64? = nil,
        deadline: ContinuousClock.Instant? = nil
    ) {
        self.records = records
        self.removals = removals
        self.observedAtMilliseconds = observedAtMilliseconds
        self.origin = origin
        self.progress = progress
        self.after = after
        self.conflictsSince = conflictsSince
        self.deadline = deadline
    }
}

/// What `MirrorStore.apply` did.
public struct MirrorApplied: Sendable {
    /// Every change of the service after the sequence the caller gave, in sequence order.
    public var changes: [MirrorChange]
    /// The numbers another gateway write recorded since `conflictsSince`.
    public var conflicted: Set<PhoneKey>
    /// The service's pruned mark (`ChangeFeedStart.prunedThrough`) as the write saw it: above the caller's `after`,
    /// `changes` lacks changes the caller never had, and its index cannot follow on from them.
    public var prunedThrough: Int64

    public init(changes: [MirrorChange], conflicted: Set<PhoneKey> = [], prunedThrough: Int64 = 0) {
        self.changes = changes
        self.conflicted = conflicted
        self.prunedThrough = prunedThrough
    }
}

extension MirrorStore {
    /// `apply` without looking for conflicting writes: a sync's write, or one that needs no order.
    public func apply(
        service: String,
        records: [MirrorRecord],
        removals: [PhoneKey],
        observedAtMilliseconds: Int64,
        origin: MirrorChange.Origin,
        progress: MirrorProgress?,
        after: Int64
    ) async throws -> [MirrorChange] {
        try await apply(
            service: service,
            MirrorWrite(
                records: records,
                removals: removals,
                observedAtMilliseconds: observedAtMilliseconds,
                origin: origin,
                progress: progress,
                after: after
            )
        ).changes
    }
}

/// How far a service's mirror has got, saved with each window a full pass stores.
public struct MirrorProgress: Sendable, Equatable, Codable {
    /// Whether a full pass has ever completed: only then can the mirror vouch for "not opted out".
    public var complete = false
    /// The full pass under way: everything registered up to `passEnd` is stored but for `passRanges`, the time
    /// ranges still to read (`[lower, upper]` each), which a restart resumes. `passCursor` is the single range
    /// `[0, passCursor]` of a pass saved before passes read ranges concurrently.
    public var passEnd: Int64?
    public var passRanges: [[Int64]]?
    public var passCursor: Int64?
    /// The width of the next window (ms), as the last window suggested.
    public var passSpan: Int64?
    public var passStartedAt: Int64?
    public var passRecords = 0
    public var passCalls = 0
    public var passRemoved = 0
    /// The first full pass, for the status page.
    public var initialStartedAt: Int64?
    public var initialCompletedAt: Int64?
    public var initialRecords = 0
    public var initialCalls = 0
    /// The time up to which every registration has been read (a full pass's end, then each whole incremental
    /// sync's start): the next incremental sync starts there, less the overlap. (Progress saved by earlier versions
    /// also holds `newestRegisteredAt`, which is no longer read.)
    public var syncedThrough: Int64?
    /// When the last completed verification pass started: what SENS listed before then, in any time range, is in
    /// the mirror, but for the pass's blind spot (`MirrorVerification`).
    public var lastVerifiedAt: Int64?
    /// What the last verification pass found, for the status pages of replicas that do not verify.
    public var lastVerification: VerificationReport?
    /// When the last successful sync started, and the last completed reconciliation.
    public var lastSyncAt: Int64?
    public var lastReconciliationAt: Int64?
    public var lastReconciliationRemoved = 0

    public init() {}

    public var passUnderWay: Bool { passEnd != nil }

    /// The ranges the pass under way has still to read.
    public var remainingRanges: [ClosedRange<Int64>] {
        if let passRanges { return passRanges.compactMap { $0.count == 2 && $0[0] <= $0[1] ? $0[0]...$0[1] : nil } }
        if let passCursor, passCursor >= 0 { return [0...passCursor] }
        return []
    }
}
