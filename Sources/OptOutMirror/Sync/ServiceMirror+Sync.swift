import Logging
import OptOuts
import SENSCore
import Synchronization

/// What the syncs, the verification and the followers of a shared store do to a mirror's index and store.
extension ServiceMirror {
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
                // A verification probe under way compares against another index now: not conclusive.
                state.mutations &+= 1
            }
            return (progress, loaded)
        }
        metrics.recordRecords(service: name, count: loaded.count)
        logger.info(
            "mirror loaded from the store",
            metadata: [
                "records": "\(loaded.count)", "complete": "\(progress.complete)",
                "resuming": "\(progress.passUnderWay)",
            ]
        )
    }

    var progress: MirrorProgress { state.withLock { $0.progress } }

    /// Marks the start of a read from the source and returns its generation: writes made through the gateway
    /// after this are not undone by a removal the read suggests.
    func beginRead() -> UInt64 {
        let now = clock.nowMilliseconds()
        return state.withLock { state in
            let generation = state.writeGeneration
            // An entry an hour old is no read's concern any more: a read and its confirmations take seconds, minutes
            // when SENS throttles them.
            let horizon = max(settings.overlapMilliseconds, 3_600_000)
            if state.recentWrites.count > 1_024 {
                state.recentWrites = state.recentWrites.filter {
                    $0.value.generation > generation || now - $0.value.atMilliseconds < horizon
                }
            }
            return generation
        }
    }

    /// Whether a sync read at `generation` must not remove `key`: a gateway wrote it since, or it is in doubt.
    private static func spared(_ key: PhoneKey, _ generation: UInt64, in state: State) -> Bool {
        if !state.doubted.isEmpty, state.doubted[key] != nil { return true }
        guard let write = state.recentWrites[key] else { return false }
        return write.generation > generation
    }

    /// The numbers the mirror holds in `lower...upper` that a read at `generation` did not list (`listed`): the
    /// candidates for removal, which the sync confirms with the source one by one before removing any.
    func removalCandidates(
        _ lower: Int64,
        _ upper: Int64,
        listed: Set<PhoneKey>,
        readAt generation: UInt64
    ) -> [PhoneKey] {
        state.withLock { state in
            state.index.records(registeredIn: lower, upper).map(\.key).filter { key in
                !listed.contains(key) && !Self.spared(key, generation, in: state)
            }
        }
    }

    /// Stores what the source listed as read at `generation`: records that are new or different are upserted, and
    /// `removals` (confirmed with the source after `generation`) removed, except numbers written through the
    /// gateway since; `progress` is saved with them. `window`, when given, is the time range the records are the
    /// whole of: the unkeyed records (`State.unkeyed`) listed there replace those the mirror held there.
    func store(
        records: [MirrorRecord],
        removals: [PhoneKey] = [],
        readAt generation: UInt64,
        window: (range: ClosedRange<Int64>, unkeyed: [String: Int64])? = nil,
        progress: (inout MirrorProgress) -> Void
    ) async throws {
        try await writes.run {
            // A replica that lost the lead (its connection to a shared store ended) stops mid-sync.
            guard store.coordination.holdsLead(storeKey) else { throw MirrorLeadLost() }
            // What the other replicas wrote, first: their writes are then protected like this one's.
            try await catchUp()
            let now = clock.nowMilliseconds()
            // What the index held when the numbers were chosen: the store spares what others wrote after it.
            let (upserts, removals, next, after) = state.withLock {
                state -> ([MirrorRecord], [PhoneKey], MirrorProgress, Int64) in
                let removals = removals.filter {
                    state.index.record(for: $0) != nil && !Self.spared($0, generation, in: state)
                }
                var upserts: [MirrorRecord] = []
                for record in records where !state.index.holds(record) { upserts.append(record) }
                var next = state.progress
                progress(&next)
                return (upserts, removals, next, state.appliedSequence)
            }
            let changes = try await store.apply(
                service: storeKey,
                records: upserts,
                removals: removals,
                observedAtMilliseconds: now,
                origin: .sync,
                progress: next,
                after: after
            )
            let newUnkeyed = state.withLock { state -> [String] in
                apply(changes, to: &state)
                state.progress = next
                state.progressVersion += 1
                guard let window else { return [] }
                var added: [String] = []
                let kept = state.unkeyed.filter { !window.range.contains($0.value) || window.unkeyed[$0.key] != nil }
                if kept.count != state.unkeyed.count { state.mutations &+= 1 }
                state.unkeyed = kept
                for (number, time) in window.unkeyed where state.unkeyed.updateValue(time, forKey: number) == nil {
                    added.append(number)
                }
                if !added.isEmpty { state.mutations &+= 1 }
                return added
            }
            report(changes)
            if !newUnkeyed.isEmpty {
                logger.warning(
                    "SENS lists opt-outs whose number is not 1 to 16 digits: they match no number a caller can ask about",
                    metadata: ["count": "\(newUnkeyed.count)", "numbers": "\(newUnkeyed.map { PhoneNumber.mask($0) })"]
                )
            }
        }
    }

    /// The newest change the index holds.
    var appliedSequence: Int64 { state.withLock { $0.appliedSequence } }

    /// Applies changes read from the change table, oldest first, skipping any the index already holds. A write
    /// through another replica is protected from this replica's syncs as its own writes are (`recentWrites`).
    /// A record SENS lists whose digits are no Korean number is logged once, when it is added.
    func apply(_ changes: [MirrorChange], to state: inout State) {
        var bumped = false
        var notNumbers: [String] = []
        for change in changes where change.sequence > state.appliedSequence {
            switch change.kind {
            case .added:
                let isNumber = state.index.upsert(
                    MirrorRecord(
                        key: change.key,
                        registeredAtMilliseconds: change.registeredAtMilliseconds ?? 0,
                        source: change.source ?? .manual
                    )
                )
                if !isNumber,
                    state.index.record(for: change.key)?.registeredAtMilliseconds == change.registeredAtMilliseconds,
                    notNumbers.count < 10
                {
                    notNumbers.append(PhoneNumber.mask(change.key.digits))
                }
            case .removed:
                state.index.remove(change.key)
            }
            state.mutations &+= 1
            if change.origin == .gateway,
                change.observedAtMilliseconds > state.recentWrites[change.key]?.atMilliseconds ?? .min
            {
                if !bumped {
                    state.writeGeneration += 1
                    bumped = true
                }
                state.recentWrites[change.key] = RecentWrite(
                    generation: state.writeGeneration,
                    atMilliseconds: change.observedAtMilliseconds
                )
            }
            state.appliedSequence = change.sequence
            // The first change kept since the feed was last read empty: the status page shows it without a read.
            if state.changeFeedStart != nil, state.changeFeedStart?.oldestKeptSequence == nil {
                state.changeFeedStart?.oldestKeptSequence = change.sequence
                state.changeFeedStart?.oldestKeptObservedAtMilliseconds = change.observedAtMilliseconds
            }
        }
        if !notNumbers.isEmpty {
            logger.warning(
                "SENS lists opt-outs whose digits are no Korean phone number: the mirror keeps them, and they match no number a caller can ask about",
                metadata: ["numbers": "\(notNumbers)"]
            )
        }
    }

    // MARK: Following a shared store

    /// Reads what the store holds that the index does not: the saved progress (the syncing replica's), then every
    /// change after the last one applied. With a shared store, a successful read is what lets the mirror go on
    /// vouching, and the syncing replica's last sync and verification are what its answers are as of. The saved
    /// progress replaces this replica's when it is about to sync (`asSyncer`), or when it does not sync and nothing
    /// changed its progress while the read was under way: a syncing replica's own progress is never set back.
    ///
    /// It does not wait for the write gate, nor hold it: a write's answer must not wait for a slow read. Changes
    /// are applied whatever the order in which reads and writes return (`apply` skips what the index holds).
    public func follow(asSyncer: Bool) async throws {
        let started = clock.nowMilliseconds()
        let version = state.withLock { $0.progressVersion }
        let progress = try await store.progress(service: storeKey)
        do {
            try await catchUp(always: true)
        } catch let pruned as MirrorChangesPruned {
            // This replica fell behind by more than the change retention: the changes it missed are gone, so it
            // reads the whole list again.
            logger.warning(
                "this replica fell behind the shared store's change retention: it loads the whole list again",
                metadata: ["error": "\(pruned)"]
            )
            try await load()
        }
        state.withLock { state in
            if let progress, asSyncer || (state.progressVersion == version && !store.coordination.holdsLead(storeKey)) {
                state.progress = progress
                state.progressVersion += 1
            }
            state.followedAt = max(state.followedAt ?? started, started)
            if shared, let synced = progress?.lastSyncAt {
                state.lastSyncStartedAt = max(state.lastSyncStartedAt ?? synced, synced)
            }
            if shared, let verified = progress?.lastVerifiedAt {
                state.lastVerifiedAt = max(state.lastVerifiedAt ?? verified, verified)
            }
        }
    }

    static let followPage = 10_000

    /// With a shared store (or when `always`), applies every change after the last one applied, page by page:
    /// before a write, so that the write's own read of the table under the store's lock stays short.
    func catchUp(always: Bool = false) async throws {
        guard shared || always else { return }
        while true {
            let after = appliedSequence
            let changes = try await store.changes(service: storeKey, after: after, limit: Self.followPage)
            // Read after the changes (as the feed does): changes pruned past `after` cannot be applied, and the index
            // would miss them.
            if shared {
                let start = try await store.changeFeedStart(service: storeKey)
                guard start.prunedThrough <= after else { throw MirrorChangesPruned(start: start) }
            }
            state.withLock { apply(changes, to: &$0) }
            report(changes)
            if changes.count < Self.followPage { return }
        }
    }

    // MARK: Verification (MirrorVerification)

    /// The time ranges of `lower...upper` that a verification pass probes, each about `records` records.
    func verificationBuckets(_ lower: Int64, _ upper: Int64, records: Int) -> [ClosedRange<Int64>] {
        state.withLock { $0.index.buckets(lower, upper, records: records) }
    }

    /// How many records SENS should list in `range` as the mirror sees it now (unkeyed ones included), and a mark
    /// of the mirror's activity (`activity`), so that a probe can tell whether it was conclusive.
    func expectedCount(_ range: ClosedRange<Int64>) -> (count: Int, activity: Activity) {
        state.withLock { state in
            let unkeyed = state.unkeyed.isEmpty ? 0 : state.unkeyed.values.count { range.contains($0) }
            return (state.index.count(registeredIn: range.lowerBound, range.upperBound) + unkeyed, Self.activity(state))
        }
    }

    /// What moves the mirror's counts apart from SENS's for a while: changes applied to the index, writes through
    /// this gateway begun and under way (SENS may have applied one the mirror has not recorded yet).
    struct Activity: Equatable {
        var mutations: UInt64
        var writesStarted: UInt64
        var writesInFlight: Int
    }

    private static func activity(_ state: State) -> Activity {
        Activity(mutations: state.mutations, writesStarted: state.writesStarted, writesInFlight: state.writesInFlight)
    }

    /// Whether a probe of `range` that began at `before` is conclusive: nothing moved meanwhile, no write was under
    /// way, and no number in doubt (held opted out for want of knowing) has its record in the range.
    func probeConclusive(_ range: ClosedRange<Int64>, since before: Activity) -> Bool {
        state.withLock { state in
            let now = Self.activity(state)
            guard now == before, before.writesInFlight == 0 else { return false }
            return state.doubted.isEmpty
                || !state.doubted.keys.contains { key in
                    state.index.optOut(of: key).map { range.contains($0.registeredAtMilliseconds) } ?? false
                }
        }
    }

    /// Whether the index holds exactly `record` (a probe's page is checked record by record too).
    func holds(_ record: MirrorRecord) -> Bool { state.withLock { $0.index.holds(record) } }

    /// Whether `number` is one of the unkeyed records the mirror holds at that time.
    func holdsUnkeyed(_ number: String, at time: Int64) -> Bool { state.withLock { $0.unkeyed[number] == time } }

    /// When the last verification pass started, if it completed or failed on its own (one stopped with a
    /// reconciliation it ran beside, or at shutdown, does not count): the next is due an interval after it.
    var lastVerificationStart: Int64? {
        state.withLock { state in
            guard let last = state.lastVerification else { return nil }
            return last.outcome.hasSuffix("the sync was stopped") ? state.lastVerifiedAt : last.startedAt
        }
    }

    /// A verification pass ended (`report.startedAt` is when it began); a completed one is what the mirror vouches
    /// from.
    func finishVerification(_ report: VerificationReport, completed: Bool) {
        state.withLock { state in
            state.lastVerification = report
            if completed { state.lastVerifiedAt = max(state.lastVerifiedAt ?? report.startedAt, report.startedAt) }
        }
        metrics.recordVerification(service: name, report: report)
    }

    // MARK: Reporting

    /// A sync that started at `startedAt` ended. Only a successful incremental sync makes the mirror's answers as of
    /// its start: a full pass is followed by one.
    func finishSync(kind: String, startedAt: Int64, outcome: String, sensCalls: Int, succeeded: Bool) {
        let now = clock.nowMilliseconds()
        state.withLock { state in
            state.lastSync = SyncReport(outcome: outcome, durationMilliseconds: now - startedAt, sensCalls: sensCalls)
            if succeeded, kind == "incremental" {
                state.lastSyncStartedAt = max(state.lastSyncStartedAt ?? startedAt, startedAt)
            }
        }
        metrics.recordSync(
            service: name,
            kind: kind,
            outcome: succeeded ? "ok" : "failed",
            duration: .milliseconds(now - startedAt),
            sensCalls: sensCalls
        )
        reportLag()
    }

    func finishReconciliation(outcome: String) {
        state.withLock { $0.lastReconciliationOutcome = outcome }
    }

    /// Exports the time since the last successful sync started, and how many numbers are in doubt.
    func reportLag() {
        let (last, doubted) = state.withLock { ($0.lastSyncStartedAt, $0.doubted.count) }
        metrics.recordLag(service: name, seconds: last.map { Double(clock.nowMilliseconds() - $0) / 1000 })
        metrics.recordInDoubt(service: name, count: doubted)
    }

    func report(_ changes: [MirrorChange]) {
        guard !changes.isEmpty else { return }
        let removed = changes.count { $0.kind == .removed }
        metrics.recordChanges(service: name, added: changes.count - removed, removed: removed)
        metrics.recordRecords(service: name, count: state.withLock { $0.index.count })
    }
}

/// What one verification pass did, for the status page, the metrics and the logs.
public struct VerificationReport: Sendable, Equatable, Codable {
    public var startedAt: Int64
    public var durationMilliseconds: Int64
    /// `ok`, or why the pass did not complete.
    public var outcome: String
    /// Buckets probed, and those whose count (or probed page) differed from SENS's and were re-read.
    public var buckets: Int
    public var bucketsDiffered: Int
    /// Records the re-reads added or changed, and removals they confirmed.
    public var recordsFound: Int
    public var removalsFound: Int
    public var sensCalls: Int

    public init(
        startedAt: Int64,
        durationMilliseconds: Int64 = 0,
        outcome: String = "ok",
        buckets: Int = 0,
        bucketsDiffered: Int = 0,
        recordsFound: Int = 0,
        removalsFound: Int = 0,
        sensCalls: Int = 0
    ) {
        self.startedAt = startedAt
        self.durationMilliseconds = durationMilliseconds
        self.outcome = outcome
        self.buckets = buckets
        self.bucketsDiffered = bucketsDiffered
        self.recordsFound = recordsFound
        self.removalsFound = removalsFound
        self.sensCalls = sensCalls
    }
}
