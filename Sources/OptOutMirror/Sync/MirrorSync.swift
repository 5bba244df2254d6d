import Logging
import OptOuts
import SENSCore
import Synchronization

/// The syncs of one mirror, each a pass over windows of the source's list:
/// - a full pass reads everything registered up to its start (a fixed end; what is left to read is saved with
///   every window, so that a restart resumes it), in ranges read concurrently (`PassRanges`): the first fills the
///   mirror, later ones are the reconciliation, which also removes what the source no longer lists;
/// - an incremental sync reads from the start of the last whole sync, less the overlap, to now, and removes what
///   its windows no longer list;
/// - a verification pass (`verify`) finds any difference in any time range.
/// A removal is confirmed with the source, number by number, before it is made: one window read is never the
/// only evidence that an opt-out is gone.
struct MirrorSync {
    let mirror: ServiceMirror
    let source: any OptOutDirectory
    let limiter: SyncCallLimiter
    let reader: WindowReader
    var clock: any EpochClock { mirror.clock }
    var settings: MirrorSettings { mirror.settings }
    var logger: Logger { mirror.logger }

    /// How often a long pass logs its progress.
    static let progressLogInterval: Int64 = 5_000

    init(mirror: ServiceMirror, source: any OptOutDirectory) {
        self.mirror = mirror
        self.source = source
        self.limiter = SyncCallLimiter(maximum: mirror.settings.syncConcurrency, retryDelay: mirror.settings.retryDelay)
        self.reader = WindowReader(source: source, limiter: limiter, tracer: mirror.tracer)
    }

    /// Runs (or resumes) a full pass with `settings.syncConcurrency` readers; while the mirror is complete, runs
    /// incremental syncs and verification passes beside it whenever one is due, so a long reconciliation never
    /// lets the mirror go stale.
    func fullPass() async throws(OptOutError) {
        var progress = mirror.progress
        let initial = !progress.complete
        let kind = initial ? "initial sync" : "reconciliation"
        if !progress.passUnderWay {
            let now = clock.nowMilliseconds()
            try await save { progress in
                progress.passEnd = now
                progress.passRanges = [[0, now]]
                progress.passCursor = nil
                progress.passSpan = nil
                progress.passStartedAt = now
                progress.passRecords = 0
                progress.passCalls = 0
                progress.passRemoved = 0
                if initial { progress.initialStartedAt = now }
            }
            progress = mirror.progress
            logger.info(
                "mirror \(kind) started",
                metadata: ["endTime": "\(now)", "concurrency": "\(settings.syncConcurrency)"]
            )
        } else {
            logger.info(
                "mirror \(kind) resumed",
                metadata: ["records": "\(progress.passRecords)", "sensCalls": "\(progress.passCalls)"]
            )
        }
        let passStarted = clock.nowMilliseconds()
        let ranges = PassRanges(progress.remainingRanges)
        let log = PassLog(startedAt: passStarted, records: progress.passRecords)
        let span = progress.passSpan
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for reader in 0..<settings.syncConcurrency {
                    group.addTask {
                        try await readRanges(reader, ranges: ranges, initial: initial, kind: kind, log: log, span: span)
                    }
                }
                if !initial { group.addTask { try await keepFreshDuringPass() } }
                do {
                    // The pass is done when every reader is; the loop beside them then stops.
                    for _ in 0..<settings.syncConcurrency { try await group.next() }
                    group.cancelAll()
                } catch {
                    ranges.abort()
                    group.cancelAll()
                    throw error
                }
                while (try? await group.next()) != nil {}
            }
        } catch {
            let failure = error as? OptOutError ?? OptOutError(.failed, "\(error)")
            let current = mirror.progress
            mirror.finishSync(
                kind: "full",
                startedAt: passStarted,
                outcome: "\(kind) failed: \(failure.reason)",
                sensCalls: current.passCalls - progress.passCalls,
                succeeded: false
            )
            if !initial { mirror.finishReconciliation(outcome: "failed: \(failure.reason)") }
            throw failure
        }
        let finished = mirror.progress
        try await save { progress in
            if initial {
                progress.initialCompletedAt = self.clock.nowMilliseconds()
                progress.initialRecords = progress.passRecords
                progress.initialCalls = progress.passCalls
            }
            progress.complete = true
            // Everything registered up to the pass's end has been read.
            if let end = progress.passEnd { progress.syncedThrough = max(progress.syncedThrough ?? end, end) }
            progress.lastReconciliationAt = progress.passStartedAt
            progress.lastReconciliationRemoved = progress.passRemoved
            progress.passEnd = nil
            progress.passRanges = nil
            progress.passCursor = nil
            progress.passSpan = nil
        }
        mirror.finishSync(
            kind: "full",
            startedAt: passStarted,
            outcome: "ok",
            sensCalls: finished.passCalls - progress.passCalls,
            succeeded: true
        )
        mirror.finishReconciliation(outcome: "ok")
        logger.info(
            "mirror \(kind) completed",
            metadata: [
                "records": "\(finished.passRecords)", "sensCalls": "\(finished.passCalls)",
                "removed": "\(finished.passRemoved)",
                "seconds": "\(Double(clock.nowMilliseconds() - (finished.passStartedAt ?? passStarted)) / 1000)",
                "throttled": "\(limiter.throttles)",
            ]
        )
    }

    /// One reader of a full pass: takes ranges until none is left, storing each window with what is left to read.
    private func readRanges(
        _ id: Int,
        ranges: PassRanges,
        initial: Bool,
        kind: String,
        log: PassLog,
        span: Int64?
    ) async throws {
        while let range = await ranges.next(for: id) {
            try await reader.read(
                range.lowerBound,
                range.upperBound,
                span: span,
                beginRead: mirror.beginRead,
                shed: { ranges.shed(id, lower: $0, upper: $1, span: $2) },
                handle: { window in
                    // The first pass has nothing to remove: the mirror holds only what this pass stored.
                    let (removals, confirmCalls) = initial ? ([], 0) : try await confirmedRemovals(window)
                    try await mirror.store(
                        records: window.records,
                        removals: removals,
                        readAt: window.generation,
                        window: (window.range, window.unkeyed)
                    ) { progress in
                        // Saved as if this window were read; the readers' shared ranges move only once it is stored.
                        progress.passRanges = ranges.remaining(reading: id, below: window.lower)
                        progress.passSpan = window.nextSpan
                        progress.passRecords += window.records.count
                        progress.passCalls += window.calls + confirmCalls
                        progress.passRemoved += removals.count
                    }
                    ranges.read(id, below: window.lower)
                    log.progress(mirror, kind: kind)
                }
            )
        }
    }

    /// Beside a reconciliation: an incremental sync every sync interval and a verification pass when one is due.
    private func keepFreshDuringPass() async throws {
        while true {
            try await Task.sleep(for: settings.syncInterval)
            try await incremental()
            if verificationDue { try await verify() }
        }
    }

    /// Reads from the start of the last whole sync (or the end of the first full pass), less the overlap, to now:
    /// about one call when nothing changed. Clocks differ by less than the overlap. Where the next one starts moves
    /// only once every window has been read: a sync that fails midway is read again whole. A record registered
    /// with an older time than that is the verification's to find.
    func incremental() async throws(OptOutError) {
        let started = clock.nowMilliseconds()
        let progress = mirror.progress
        let covered = progress.syncedThrough ?? progress.lastSyncAt ?? started
        let from = max(0, min(covered, started) - settings.overlapMilliseconds)
        var calls = 0
        do {
            // To the overlap past now too: a record SENS stamps ahead of this clock is read as soon as it is listed.
            calls = try await reread(from, started.saturatingAdd(settings.overlapMilliseconds)) { calls = $0.calls }
                .calls
            try await save { progress in
                progress.lastSyncAt = started
                progress.syncedThrough = max(progress.syncedThrough ?? started, started)
            }
        } catch {
            mirror.finishSync(
                kind: "incremental",
                startedAt: started,
                outcome: "failed: \(error.reason)",
                sensCalls: calls,
                succeeded: false
            )
            throw error
        }
        mirror.finishSync(kind: "incremental", startedAt: started, outcome: "ok", sensCalls: calls, succeeded: true)
    }

    /// What a re-read of a range found and cost.
    struct Reread {
        /// Records SENS listed that the mirror did not hold as listed, and removals confirmed with SENS.
        var found = 0
        var removed = 0
        var calls = 0
    }

    /// Reads `lower...upper` whole, window by window, and brings the mirror in line with each: records upserted,
    /// removals confirmed by number first. `progressed` hears of the totals so far after each window, so that a
    /// re-read that fails midway still counts its calls.
    func reread(
        _ lower: Int64,
        _ upper: Int64,
        progressed: (Reread) -> Void = { _ in }
    ) async throws(OptOutError) -> Reread {
        var done = Reread()
        try await reader.read(lower, upper, span: nil, beginRead: mirror.beginRead) { window in
            let (removals, confirmCalls) = try await confirmedRemovals(window)
            done.found += window.records.count { !mirror.holds($0) }
            done.removed += removals.count
            done.calls += window.calls + confirmCalls
            try await mirror.store(
                records: window.records,
                removals: removals,
                readAt: window.generation,
                window: (window.range, window.unkeyed)
            ) { _ in }
            progressed(done)
        }
        return done
    }

    var verificationDue: Bool {
        guard let last = mirror.lastVerificationStart else { return true }
        return clock.nowMilliseconds() - last >= settings.verifyInterval.totalMilliseconds
    }

    func verify() async throws(OptOutError) {
        try await MirrorVerification(sync: self).run()
    }

    /// The numbers the mirror holds in the window that the window's read did not list and that the source, asked
    /// for each by number in the form it held it, no longer holds; and how many calls that took. The lookups start
    /// after the read: a gateway write recorded after `window.generation` is spared by `ServiceMirror.store`.
    func confirmedRemovals(_ window: WindowReader.Window) async throws(OptOutError) -> ([PhoneKey], Int) {
        let candidates = mirror.removalCandidates(
            window.lower,
            window.upper,
            listed: Set(window.records.map(\.key)),
            readAt: window.generation
        )
        var confirmed: [PhoneKey] = []
        for key in candidates {
            let digits = key.digits
            let answer = try await limiter.call { () throws(OptOutError) in
                try await source.list(OptOutQuery(sensNumber: digits, pageSize: OptOutQuery.maxPageSize), refresh: true)
            }
            if !answer.value.contains(where: { $0.phoneNumber == digits }) { confirmed.append(key) }
        }
        return (confirmed, candidates.count)
    }

    /// Asks SENS about a number in doubt (`ServiceMirror.resolveDoubt`), within the syncs' bound.
    func resolveDoubt(_ key: PhoneKey) async throws {
        let (source, limiter) = (self.source, self.limiter)
        try await mirror.resolveDoubt(key) { number throws(OptOutError) in
            try await limiter.call { () throws(OptOutError) in try await source.check(number, refresh: true).value }
        }
    }

    /// Saves a change to the progress on its own.
    func save(_ change: @escaping (inout MirrorProgress) -> Void) async throws(OptOutError) {
        do {
            try await mirror.store(records: [], readAt: .max, progress: change)
        } catch {
            throw OptOutError(.failed, "the mirror could not save its progress: \(error)")
        }
    }
}

/// A full pass's progress lines, every `MirrorSync.progressLogInterval`, whichever reader stores a window then.
final class PassLog: Sendable {
    private struct State {
        var lastAt: Int64
        var records: Int
    }

    private let state: Mutex<State>

    init(startedAt: Int64, records: Int) {
        state = Mutex(State(lastAt: startedAt, records: records))
    }

    func progress(_ mirror: ServiceMirror, kind: String) {
        let now = mirror.clock.nowMilliseconds()
        let current = mirror.progress
        let due = state.withLock { state -> (Int64, Int)? in
            guard now - state.lastAt >= MirrorSync.progressLogInterval else { return nil }
            defer { state = State(lastAt: now, records: current.passRecords) }
            return (state.lastAt, state.records)
        }
        guard let (lastAt, records) = due else { return }
        let rate = Double(current.passRecords - records) * 1000 / Double(max(1, now - lastAt))
        mirror.logger.info(
            "mirror \(kind) progress",
            metadata: [
                "records": "\(current.passRecords)", "sensCalls": "\(current.passCalls)",
                "recordsPerSecond": "\(Int(rate))",
            ]
        )
    }
}
