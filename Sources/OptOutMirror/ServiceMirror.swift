import Logging
import OptOuts
import SENSCore
import Synchronization
import Tracing

/// Whether a mirror can vouch for what it holds.
public enum MirrorState: String, Sendable {
    /// No full pass has completed yet, or no sync or no verification pass has succeeded since start-up.
    case syncing
    /// Complete and synced within the staleness bound: it answers.
    case ready
    /// Its last successful sync or its last completed verification pass started too long ago (or, with a shared
    /// store, the store has not been read lately): it does not answer.
    case stale
    /// The mirror is turned off.
    case disabled
}

/// The mirrored opt-out list of one service: the in-memory index every read uses, the store behind it, and what
/// the syncs have achieved. Reads are synchronous and short (a lock around the index). The index follows the
/// store's change table in sequence order (`State.appliedSequence`): its own writes, and with a shared store the
/// other replicas' too, enter the index as the changes they made there. Writes and follows go one at a time.
public final class ServiceMirror: Sendable {
    /// The gateway's name for the service.
    public let name: String
    /// The key of its records in the store: the SENS service id, so that a renamed service keeps its mirror.
    public let storeKey: String
    let store: any MirrorStore
    let clock: any EpochClock
    let settings: MirrorSettings
    let metrics: any MirrorMetrics
    /// A span per sync and per window, when traces are on.
    let tracer: any Tracer
    let logger: Logger
    /// Whether other processes write the store too (`MirrorCoordination.shared`).
    let shared: Bool
    let state = Mutex(State())
    /// Store writes and the index updates they cause, one at a time.
    let writes = AsyncGate()
    /// Writes through the gateway, one at a time per number (`writing`).
    let numberLocks = NumberLocks()
    /// Wakes the loop that asks SENS about numbers in doubt (`MirrorSyncService`).
    let doubtSignal: AsyncStream<Void>
    let doubtSignalContinuation: AsyncStream<Void>.Continuation

    struct State {
        var index = OptOutIndex()
        var loaded = false
        /// The newest change of the store's change table that the index holds.
        var appliedSequence: Int64 = 0
        /// Counts the changes to `progress`: a follow adopts the progress it read only if none came meanwhile.
        var progressVersion = 0
        /// With a shared store: when the last successful read of the change table started.
        var followedAt: Int64?
        var progress = MirrorProgress()
        /// When the last successful sync started: what the mirror's answers are as of. Alone on its store, only a
        /// sync of this process counts; with a shared store, the syncing replica's as read from the store.
        var lastSyncStartedAt: Int64?
        var lastSync: SyncReport?
        var lastReconciliationOutcome: String?
        /// National numbers whose state the mirror cannot vouch for until SENS has been asked about them, and since
        /// when: writes through the gateway whose order is unknown (they overlapped another write of the number,
        /// through another replica) or whose answer was lost, and confirmed writes the store could not record.
        var doubted: [PhoneKey: Int64] = [:]
        /// Writes through the gateway (this replica's, and others' as it follows them), counted, and the numbers
        /// they wrote: a sync removes no number written after its read started.
        var writeGeneration: UInt64 = 0
        var recentWrites: [PhoneKey: RecentWrite] = [:]
        /// Counts the changes applied to the index, and the writes through this gateway begun and under way: a
        /// verification probe during which any of them moved, or beside a write under way, is not conclusive.
        var mutations: UInt64 = 0
        var writesStarted: UInt64 = 0
        var writesInFlight = 0
        /// Records SENS lists whose number is not 1 to 16 digits (no index key): what SENS holds that no caller can
        /// ask about, kept by number with its registration time so that the verification counts them.
        var unkeyed: [String: Int64] = [:]
        /// When the last verification pass that this process completed (alone on its store) or read from the
        /// store (shared) started, and what the last one found.
        var lastVerifiedAt: Int64?
        var lastVerification: VerificationReport?
        /// Where the change feed starts, as last read (`ChangePruning`).
        var changeFeedStart: ChangeFeedStart?
    }

    struct RecentWrite {
        var generation: UInt64
        var atMilliseconds: Int64
    }

    struct SyncReport {
        var outcome: String
        var durationMilliseconds: Int64
        var sensCalls: Int
    }

    public init(
        name: String,
        storeKey: String,
        store: any MirrorStore,
        clock: any EpochClock,
        settings: MirrorSettings,
        metrics: any MirrorMetrics,
        tracer: any Tracer = NoOpTracer(),
        logger: Logger
    ) {
        self.tracer = tracer
        self.name = name
        self.storeKey = storeKey
        self.store = store
        self.clock = clock
        self.settings = settings
        self.metrics = metrics
        self.shared = store.coordination.shared
        var logger = logger
        logger[metadataKey: "service"] = .string(name)
        self.logger = logger
        (doubtSignal, doubtSignalContinuation) = AsyncStream.makeStream(
            of: Void.self,
            bufferingPolicy: .bufferingNewest(1)
        )
    }

    // MARK: Reads

    /// When the mirror's answers are as of (epoch ms), if it can vouch for them now.
    public func asOf() -> Int64? {
        state.withLock { vouchedAsOf($0, now: clock.nowMilliseconds()) }
    }

    /// The national number's record (nil: not opted out) and when that is as of, or nil when the mirror cannot
    /// vouch for it: the mirror is not ready, or the number is in doubt and SENS holds it in no other form.
    public func check(_ key: PhoneKey) -> (record: MirrorRecord?, asOf: Int64)? {
        let now = clock.nowMilliseconds()
        return state.withLock { state in
            guard let asOf = vouchedAsOf(state, now: now), !Self.unanswerable(key, in: state) else { return nil }
            return (state.index.optOut(of: key), asOf)
        }
    }

    /// The opt-out of a national number (in any form) that a complete mirror holds, vouching or not, and when its
    /// last successful sync started: what a check that SENS answered "not opted out" still errs toward.
    public func heldOptOut(_ key: PhoneKey) -> (record: MirrorRecord, asOf: Int64?)? {
        state.withLock { state in
            guard state.loaded, state.progress.complete, let record = state.index.optOut(of: key) else { return nil }
            return (record, state.lastSyncStartedAt)
        }
    }

    /// Whether the mirror cannot answer for the number even while it vouches: it is in doubt, and SENS holds it in
    /// no other form (which would answer "opted out" whatever the doubt).
    private static func unanswerable(_ key: PhoneKey, in state: State) -> Bool {
        !state.doubted.isEmpty && state.doubted[key] != nil && !state.index.holdsOtherForm(of: key)
    }

    /// Whether the number's state is in doubt: a check must ask SENS, not a cache.
    public func inDoubt(_ key: PhoneKey) -> Bool {
        state.withLock { !$0.doubted.isEmpty && $0.doubted[key] != nil }
    }

    /// A page of the list, newest first, or nil when the mirror cannot vouch.
    public func page(_ query: OptOutQuery) -> (items: [OptOut], asOf: Int64)? {
        let now = clock.nowMilliseconds()
        return state.withLock { state in
            vouchedAsOf(state, now: now).map { (state.index.page(query), $0) }
        }
    }

    /// Looks up many national numbers under one lock: `found` gets the position in `keys` and the record of each
    /// listed one, `inDoubt` the position of each number in doubt that is listed in no other form. Callers check
    /// `asOf()` first; a batch is answered from the index as it is.
    public func lookUp(_ keys: [PhoneKey], found: (Int, MirrorRecord) -> Void, inDoubt: (Int) -> Void) {
        state.withLock { state in
            for (position, key) in keys.enumerated() {
                if Self.unanswerable(key, in: state) {
                    inDoubt(position)
                } else if let record = state.index.optOut(of: key) {
                    found(position, record)
                }
            }
        }
    }

    /// At most `limit` changes after `sequence` (nil: from the oldest change kept), oldest first, from the store,
    /// each with the national number of a record SENS holds in another form, and the sequence they follow.
    /// `MirrorChangesPruned` when changes after `sequence` were pruned.
    public func changes(after sequence: Int64?, limit: Int) async throws -> (after: Int64, changes: [MirrorChange]) {
        if let sequence {
            let changes = try await store.changes(service: storeKey, after: sequence, limit: limit)
            // Read after the changes: a prune that deleted one this cursor had yet to read has raised the mark by now.
            let start = try await store.changeFeedStart(service: storeKey)
            guard start.prunedThrough <= sequence else { throw MirrorChangesPruned(start: start) }
            return (sequence, Self.national(changes))
        }
        var start = try await store.changeFeedStart(service: storeKey).prunedThrough
        while true {
            let changes = try await store.changes(service: storeKey, after: start, limit: limit)
            let now = try await store.changeFeedStart(service: storeKey).prunedThrough
            if now == start { return (start, Self.national(changes)) }
            start = now
        }
    }

    private static func national(_ changes: [MirrorChange]) -> [MirrorChange] {
        var changes = changes
        for position in changes.indices {
            if let national = NationalNumber.of(sensDigits: changes[position].key.digits),
                national != changes[position].key
            {
                changes[position].national = national
            }
        }
        return changes
    }

    public func status() -> MirrorStatus {
        let now = clock.nowMilliseconds()
        return state.withLock { state in
            let (mirrorState, detail) = Self.judge(state, now: now, settings: settings, shared: shared)
            let progress = state.progress
            return MirrorStatus(
                service: name,
                state: mirrorState,
                detail: detail,
                records: state.index.count,
                shared: shared,
                syncsHere: store.coordination.holdsLead(storeKey),
                lastSyncAt: state.lastSyncStartedAt ?? progress.lastSyncAt,
                lastSyncOutcome: state.lastSync?.outcome,
                lastSyncDurationMilliseconds: state.lastSync?.durationMilliseconds,
                lastSyncSENSCalls: state.lastSync?.sensCalls,
                lastReconciliationAt: progress.lastReconciliationAt,
                lastReconciliationOutcome: state.lastReconciliationOutcome,
                lastReconciliationRemoved: progress.lastReconciliationAt == nil
                    ? nil : progress.lastReconciliationRemoved,
                lagSeconds: state.lastSyncStartedAt.map { Int(max(0, now - $0) / 1000) },
                lastVerifiedAt: state.lastVerifiedAt,
                lastVerification: state.lastVerification ?? state.progress.lastVerification,
                inDoubt: state.doubted.count,
                changeFeed: .init(
                    retentionMilliseconds: settings.changeRetention?.totalMilliseconds,
                    oldestKeptAt: state.changeFeedStart?.oldestKeptObservedAtMilliseconds,
                    pruned: (state.changeFeedStart?.prunedThrough ?? 0) > 0
                ),
                // While the first pass runs, its progress so far.
                initialSync: .init(
                    records: progress.complete ? progress.initialRecords : progress.passRecords,
                    sensCalls: progress.complete ? progress.initialCalls : progress.passCalls,
                    startedAt: progress.initialStartedAt,
                    completedAt: progress.initialCompletedAt
                )
            )
        }
    }

    func vouchedAsOf(_ state: State, now: Int64) -> Int64? {
        Self.judge(state, now: now, settings: settings, shared: shared).0 == .ready ? state.lastSyncStartedAt : nil
    }

    private static func judge(
        _ state: State,
        now: Int64,
        settings: MirrorSettings,
        shared: Bool
    ) -> (MirrorState, String?) {
        guard state.loaded, state.progress.complete else {
            return (.syncing, "the first full sync of the opt-out list has not completed")
        }
        guard let last = state.lastSyncStartedAt else {
            return (.syncing, "no sync has succeeded since the gateway started")
        }
        if shared, state.followedAt.map({ now - $0 >= settings.followBoundMilliseconds }) ?? true {
            let age =
                state.followedAt.map { "was last read \(Double(now - $0) / 1000) s ago" } ?? "has not been read yet"
            return (
                .stale,
                "the shared store \(age) (the bound is \(Double(settings.followBoundMilliseconds) / 1000) s): other replicas' writes may be missing"
            )
        }
        guard now - last < settings.maxStalenessMilliseconds else {
            return (
                .stale,
                "the last successful sync started \((now - last) / 1000) s ago (the bound is \(settings.maxStalenessMilliseconds / 1000) s)"
            )
        }
        // Only a verification pass shows that no record SENS lists with an older registration time was missed.
        guard let verified = state.lastVerifiedAt else {
            return (.syncing, "no verification pass against SENS has completed since the gateway started")
        }
        guard now - verified < settings.maxStalenessMilliseconds else {
            return (
                .stale,
                "the last completed verification pass started \((now - verified) / 1000) s ago (the bound is \(settings.maxStalenessMilliseconds / 1000) s)"
            )
        }
        return (.ready, nil)
    }
}

/// This replica no longer holds the lead of a service on a shared store: another one syncs it now.
struct MirrorLeadLost: Error, CustomStringConvertible {
    var description: String {
        "this replica lost the lead of the service's syncing (its session with the shared store ended)"
    }
}

/// What `GET /v1/mirror` shows of one service.
public struct MirrorStatus: Sendable, Equatable {
    public struct InitialSync: Sendable, Equatable {
        public var records: Int
        public var sensCalls: Int
        public var startedAt: Int64?
        public var completedAt: Int64?
    }

    public var service: String
    public var state: MirrorState
    public var detail: String?
    public var records: Int
    /// Whether the store is shared with other replicas, and whether this one syncs the service; nil when off.
    public var shared: Bool?
    public var syncsHere: Bool?
    public var lastSyncAt: Int64?
    public var lastSyncOutcome: String?
    public var lastSyncDurationMilliseconds: Int64?
    public var lastSyncSENSCalls: Int?
    public var lastReconciliationAt: Int64?
    public var lastReconciliationOutcome: String?
    public var lastReconciliationRemoved: Int?
    public var lagSeconds: Int?
    public var lastVerifiedAt: Int64?
    public var lastVerification: VerificationReport?
    /// Numbers whose state the mirror does not vouch for until SENS has been asked.
    public var inDoubt: Int?
    public var changeFeed: ChangeFeed?
    public var initialSync: InitialSync?

    /// How much of the change feed is kept.
    public struct ChangeFeed: Sendable, Equatable {
        /// How long a change is kept; nil: for ever.
        public var retentionMilliseconds: Int64?
        /// When the oldest change kept was observed, as last read; nil when none is kept (or before the first read).
        public var oldestKeptAt: Int64?
        /// Whether older changes were pruned: the feed from the start then lacks them.
        public var pruned: Bool
    }

    /// A disabled mirror's status.
    public static func disabled(_ service: String) -> MirrorStatus {
        MirrorStatus(
            service: service,
            state: .disabled,
            detail: "the mirror is turned off (MIRROR_ENABLED=false)",
            records: 0
        )
    }
}
