import Logging
import OptOuts
import SENSCore
import Synchronization

/// Whether a mirror can vouch for what it holds.
public enum MirrorState: String, Sendable {
    /// No full pass has completed yet, or no sync has succeeded since start-up.
    case syncing
    /// Complete and synced within the staleness bound: it answers.
    case ready
    /// Its last successful sync is too old, or a confirmed write could not be recorded: it does not answer.
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
    let logger: Logger
    /// Whether other processes write the store too (`MirrorCoordination.shared`).
    let shared: Bool
    private let state = Mutex(State())
    /// Store writes and the index updates they cause, one at a time.
    private let writes = AsyncGate()

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
        /// When a register happened that the mirror may lack (SENS confirmed it but the store failed, or SENS's
        /// answer was lost), and why: the mirror does not vouch until a sync that started after it has succeeded.
        var distrustedSince: Int64?
        var distrustReason = ""
        /// Writes through the gateway (this replica's, and others' as it follows them), counted, and the numbers
        /// they wrote: a sync leaves alone a number written after its read started, or less than the overlap ago
        /// (SENS may list a write late).
        var writeGeneration: UInt64 = 0
        var recentWrites: [PhoneKey: RecentWrite] = [:]
        /// The window width a full pass narrowed to before it failed, for the next attempt at the same window.
        var narrowedSpan: Int64?
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

    public init(name: String, storeKey: String, store: any MirrorStore, clock: any EpochClock, settings: MirrorSettings,
                metrics: any MirrorMetrics, logger: Logger) {
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
    }

    // MARK: Reads

    /// When the mirror's answers are as of (epoch ms), if it can vouch for them now.
    public func asOf() -> Int64? {
        state.withLock { vouchedAsOf($0, now: clock.nowMilliseconds()) }
    }

    /// The number's record (nil: not opted out) and when that is as of, or nil when the mirror cannot vouch.
    public func check(_ key: PhoneKey) -> (record: MirrorRecord?, asOf: Int64)? {
        let now = clock.nowMilliseconds()
        return state.withLock { state in
            vouchedAsOf(state, now: now).map { (state.index.record(for: key), $0) }
        }
    }

    /// A page of the list, newest first, or nil when the mirror cannot vouch.
    public func page(_ query: OptOutQuery) -> (items: [OptOut], asOf: Int64)? {
        let now = clock.nowMilliseconds()
        return state.withLock { state in
            vouchedAsOf(state, now: now).map { (state.index.page(query), $0) }
        }
    }

    /// Looks up many numbers under one lock: `found` gets the position in `keys` and the record of each listed
    /// one. Callers check `asOf()` first; a batch is answered from the index as it is.
    public func lookUp(_ keys: [PhoneKey], found: (Int, MirrorRecord) -> Void) {
        state.withLock { state in
            for (position, key) in keys.enumerated() {
                if let packed = state.index.packedRecord(for: key) { found(position, OptOutIndex.unpack(packed, key: key)) }
            }
        }
    }

    /// At most `limit` changes after `sequence`, oldest first, from the store.
    public func changes(after sequence: Int64, limit: Int) async throws -> [MirrorChange] {
        try await store.changes(service: storeKey, after: sequence, limit: limit)
    }

    public func status() -> MirrorStatus {
        let now = clock.nowMilliseconds()
        return state.withLock { state in
            let (mirrorState, detail) = Self.judge(state, now: now, settings: settings, shared: shared)
            let progress = state.progress
            return MirrorStatus(
                service: name, state: mirrorState, detail: detail, records: state.index.count,
                shared: shared, syncsHere: store.coordination.holdsLead(storeKey),
                lastSyncAt: state.lastSyncStartedAt ?? progress.lastSyncAt, lastSyncOutcome: state.lastSync?.outcome,
                lastSyncDurationMilliseconds: state.lastSync?.durationMilliseconds, lastSyncSENSCalls: state.lastSync?.sensCalls,
                lastReconciliationAt: progress.lastReconciliationAt, lastReconciliationOutcome: state.lastReconciliationOutcome,
                lastReconciliationRemoved: progress.lastReconciliationAt == nil ? nil : progress.lastReconciliationRemoved,
                lagSeconds: state.lastSyncStartedAt.map { Int(max(0, now - $0) / 1000) },
                // While the first pass runs, its progress so far.
                initialSync: .init(records: progress.complete ? progress.initialRecords : progress.passRecords,
                                   sensCalls: progress.complete ? progress.initialCalls : progress.passCalls,
                                   startedAt: progress.initialStartedAt, completedAt: progress.initialCompletedAt))
        }
    }

    private func vouchedAsOf(_ state: State, now: Int64) -> Int64? {
        Self.judge(state, now: now, settings: settings, shared: shared).0 == .ready ? state.lastSyncStartedAt : nil
    }

    private static func judge(_ state: State, now: Int64, settings: MirrorSettings, shared: Bool) -> (MirrorState, String?) {
        guard state.loaded, state.progress.complete else {
            return (.syncing, "the first full sync of the opt-out list has not completed")
        }
        guard let last = state.lastSyncStartedAt else { return (.syncing, "no sync has succeeded since the gateway started") }
        if shared, state.followedAt.map({ now - $0 >= settings.followBoundMilliseconds }) ?? true {
            let age = state.followedAt.map { "was last read \(Double(now - $0) / 1000) s ago" } ?? "has not been read yet"
            return (.stale, "the shared store \(age) (the bound is \(Double(settings.followBoundMilliseconds) / 1000) s): other replicas' writes may be missing")
        }
        if let distrusted = state.distrustedSince, distrusted >= last {
            return (.stale, state.distrustReason + "; waiting for the next sync")
        }
        guard now - last < settings.maxStalenessMilliseconds else {
            return (.stale, "the last successful sync started \((now - last) / 1000) s ago (the bound is \(settings.maxStalenessMilliseconds / 1000) s)")
        }
        return (.ready, nil)
    }

    // MARK: Writes through the gateway

    /// Records what SENS confirmed: registered records and removed numbers. A register that cannot be recorded
    /// stops the mirror vouching until the next sync has picked it up; a removal that cannot be recorded leaves
    /// the number opted out in the mirror (the safe side) until reconciliation finds it.
    public func recordConfirmed(registered: [OptOut], removed: [String]) async {
        let records = registered.compactMap(MirrorRecord.init)
        let removals = removed.compactMap { PhoneKey(digits: $0) }
        guard !records.isEmpty || !removals.isEmpty else { return }
        do {
            try await writes.run {
                // No catch-up read first: the write's answer is waiting, and the store returns what it missed.
                let now = clock.nowMilliseconds()
                let changes = try await store.apply(service: storeKey, records: records, removals: removals, observedAtMilliseconds: now,
                                                    origin: .gateway, progress: nil, after: appliedSequence)
                state.withLock { state in
                    state.writeGeneration += 1
                    let write = RecentWrite(generation: state.writeGeneration, atMilliseconds: now)
                    for key in records.map(\.key) + removals { state.recentWrites[key] = write }
                    Self.apply(changes, to: &state)
                }
                report(changes)
            }
        } catch {
            logger.error("the mirror could not record a confirmed write", metadata: ["error": "\(error)", "records": "\(records.count)", "removals": "\(removals.count)"])
            if !records.isEmpty { distrust("an opt-out SENS confirmed could not be recorded") }
        }
    }

    /// Stops vouching until a sync that starts after now has succeeded: the mirror may lack an opt-out.
    public func distrust(_ reason: String) {
        let now = clock.nowMilliseconds()
        state.withLock { state in
            state.distrustedSince = now
            state.distrustReason = reason
        }
    }

    // MARK: Syncing (MirrorSync)

    /// Loads the saved progress and records into the index; the first thing a sync does. No write goes between
    /// the read and the index taking its place.
    func load() async throws {
        let (progress, loaded) = try await writes.run {
            let progress = try await store.progress(service: storeKey) ?? MirrorProgress()
            var index = OptOutIndex()
            let loaded = try await store.loadRecords(service: storeKey) { batch in
                for record in batch { index.upsert(record) }
            }
            state.withLock { state in
                state.index = index
                state.progress = progress
                state.appliedSequence = loaded.lastSequence
                state.loaded = true
            }
            return (progress, loaded)
        }
        metrics.recordRecords(service: name, count: loaded.count)
        logger.info("mirror loaded from the store", metadata: [
            "records": "\(loaded.count)", "complete": "\(progress.complete)", "resuming": "\(progress.passUnderWay)",
        ])
    }

    var progress: MirrorProgress { state.withLock { $0.progress } }

    var narrowedSpan: Int64? {
        get { state.withLock { $0.narrowedSpan } }
        set { state.withLock { $0.narrowedSpan = newValue } }
    }

    /// Marks the start of a read from the source and returns its generation: writes made through the gateway
    /// after this, or less than the overlap before it, are not undone by what the read returns.
    func beginRead() -> UInt64 {
        let now = clock.nowMilliseconds()
        return state.withLock { state in
            let generation = state.writeGeneration
            let protection = settings.overlapMilliseconds
            state.recentWrites = state.recentWrites.filter { $0.value.generation > generation || now - $0.value.atMilliseconds < protection }
            return generation
        }
    }

    /// Whether a sync read at `generation` must leave `key` alone (see `State.recentWrites`).
    private static func writtenSince(_ key: PhoneKey, _ generation: UInt64, in state: State, now: Int64, protection: Int64) -> Bool {
        guard let write = state.recentWrites[key] else { return false }
        return write.generation > generation || now - write.atMilliseconds < protection
    }

    /// The numbers the mirror holds in `lower...upper` that a read at `generation` did not list (`listed`): the
    /// candidates for removal, which the sync confirms with the source one by one before removing any.
    func removalCandidates(_ lower: Int64, _ upper: Int64, listed: Set<PhoneKey>, readAt generation: UInt64) -> [PhoneKey] {
        let now = clock.nowMilliseconds()
        return state.withLock { state in
            state.index.records(registeredIn: lower, upper).map(\.key).filter { key in
                !listed.contains(key) && !Self.writtenSince(key, generation, in: state, now: now, protection: settings.overlapMilliseconds)
            }
        }
    }

    /// Stores what the source listed as read at `generation`: records that are new or different are upserted, and
    /// `removals` (confirmed with the source) removed, except numbers written through the gateway since; `progress`
    /// is saved with them.
    func store(records: [MirrorRecord], removals: [PhoneKey] = [], readAt generation: UInt64,
               progress: (inout MirrorProgress) -> Void) async throws {
        try await writes.run {
            // A replica that lost the lead (its connection to a shared store ended) stops mid-sync.
            guard store.coordination.holdsLead(storeKey) else { throw MirrorLeadLost() }
            // What the other replicas wrote, first: their writes are then protected like this one's.
            try await catchUp()
            let now = clock.nowMilliseconds()
            // What the index held when the numbers were chosen: the store spares what others wrote after it.
            let (upserts, removals, next, after) = state.withLock { state -> ([MirrorRecord], [PhoneKey], MirrorProgress, Int64) in
                let protection = settings.overlapMilliseconds
                let removals = removals.filter { state.index.record(for: $0) != nil
                    && !Self.writtenSince($0, generation, in: state, now: now, protection: protection) }
                var upserts: [MirrorRecord] = []
                for record in records where !state.index.holds(record)
                    && !Self.writtenSince(record.key, generation, in: state, now: now, protection: protection) {
                    upserts.append(record)
                }
                var next = state.progress
                progress(&next)
                return (upserts, removals, next, state.appliedSequence)
            }
            let changes = try await store.apply(service: storeKey, records: upserts, removals: removals, observedAtMilliseconds: now,
                                                origin: .sync, progress: next, after: after)
            state.withLock { state in
                Self.apply(changes, to: &state)
                state.progress = next
                state.progressVersion += 1
            }
            report(changes)
        }
    }

    /// The newest change the index holds.
    private var appliedSequence: Int64 { state.withLock { $0.appliedSequence } }

    /// Applies changes read from the change table, oldest first, skipping any the index already holds. A write
    /// through another replica is protected from this replica's syncs as its own writes are (`recentWrites`).
    private static func apply(_ changes: [MirrorChange], to state: inout State) {
        var bumped = false
        for change in changes where change.sequence > state.appliedSequence {
            switch change.kind {
            case .added:
                state.index.upsert(MirrorRecord(key: change.key, registeredAtMilliseconds: change.registeredAtMilliseconds ?? 0,
                                                source: change.source ?? .manual))
            case .removed:
                state.index.remove(change.key)
            }
            if change.origin == .gateway, change.observedAtMilliseconds > state.recentWrites[change.key]?.atMilliseconds ?? .min {
                if !bumped { state.writeGeneration += 1; bumped = true }
                state.recentWrites[change.key] = RecentWrite(generation: state.writeGeneration, atMilliseconds: change.observedAtMilliseconds)
            }
            state.appliedSequence = change.sequence
        }
    }

    // MARK: Following a shared store

    /// Reads what the store holds that the index does not: the saved progress (the syncing replica's), then every
    /// change after the last one applied. With a shared store, a successful read is what lets the mirror go on
    /// vouching, and the syncing replica's last sync is what its answers are as of. The saved progress replaces
    /// this replica's when it is about to sync (`asSyncer`), or when it does not sync and nothing changed its
    /// progress while the read was under way: a syncing replica's own progress is never set back.
    ///
    /// It does not wait for the write gate, nor hold it: a write's answer must not wait for a slow read. Changes
    /// are applied whatever the order in which reads and writes return (`apply` skips what the index holds).
    public func follow(asSyncer: Bool) async throws {
        let started = clock.nowMilliseconds()
        let version = state.withLock { $0.progressVersion }
        let progress = try await store.progress(service: storeKey)
        try await catchUp(always: true)
        state.withLock { state in
            if let progress, asSyncer || (state.progressVersion == version && !store.coordination.holdsLead(storeKey)) {
                state.progress = progress
                state.progressVersion += 1
            }
            state.followedAt = max(state.followedAt ?? started, started)
            if shared, let synced = progress?.lastSyncAt { state.lastSyncStartedAt = max(state.lastSyncStartedAt ?? synced, synced) }
        }
    }

    static let followPage = 10_000

    /// With a shared store (or when `always`), applies every change after the last one applied, page by page:
    /// before a write, so that the write's own read of the table under the store's lock stays short.
    private func catchUp(always: Bool = false) async throws {
        guard shared || always else { return }
        while true {
            let changes = try await store.changes(service: storeKey, after: appliedSequence, limit: Self.followPage)
            state.withLock { Self.apply(changes, to: &$0) }
            report(changes)
            if changes.count < Self.followPage { return }
        }
    }

    /// A sync that started at `startedAt` ended. Only a successful incremental sync makes the mirror's answers as of
    /// its start: a full pass is followed by one.
    func finishSync(kind: String, startedAt: Int64, outcome: String, sensCalls: Int, succeeded: Bool) {
        let now = clock.nowMilliseconds()
        state.withLock { state in
            state.lastSync = SyncReport(outcome: outcome, durationMilliseconds: now - startedAt, sensCalls: sensCalls)
            if succeeded, kind == "incremental" { state.lastSyncStartedAt = max(state.lastSyncStartedAt ?? startedAt, startedAt) }
        }
        metrics.recordSync(service: name, kind: kind, outcome: succeeded ? "ok" : "failed", duration: .milliseconds(now - startedAt),
                           sensCalls: sensCalls)
        reportLag()
    }

    func finishReconciliation(outcome: String) {
        state.withLock { $0.lastReconciliationOutcome = outcome }
    }

    /// Exports the time since the last successful sync started.
    func reportLag() {
        let last = state.withLock { $0.lastSyncStartedAt }
        metrics.recordLag(service: name, seconds: last.map { Double(clock.nowMilliseconds() - $0) / 1000 })
    }

    private func report(_ changes: [MirrorChange]) {
        guard !changes.isEmpty else { return }
        let removed = changes.count { $0.kind == .removed }
        metrics.recordChanges(service: name, added: changes.count - removed, removed: removed)
        metrics.recordRecords(service: name, count: state.withLock { $0.index.count })
    }
}

/// This replica no longer holds the lead of a service on a shared store: another one syncs it now.
struct MirrorLeadLost: Error, CustomStringConvertible {
    var description: String { "this replica lost the lead of the service's syncing (its session with the shared store ended)" }
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
    public var initialSync: InitialSync?

    /// A disabled mirror's status.
    public static func disabled(_ service: String) -> MirrorStatus {
        MirrorStatus(service: service, state: .disabled, detail: "the mirror is turned off (MIRROR_ENABLED=false)", records: 0)
    }
}
