import Logging
import OptOuts
import SENSCore

/// The syncs of one mirror, each a pass over windows of the source's list:
/// - a full pass reads everything registered up to its start (a fixed end, saved with every window, so that a
///   restart resumes it): the first fills the mirror, later ones are the reconciliation, which also removes what
///   the source no longer lists;
/// - an incremental sync reads from the earlier of the newest registration seen and the point every registration
///   has been read up to, less the overlap, to now, and removes what its windows no longer list.
/// A removal is confirmed with the source, number by number, before it is made: one window read is never the
/// only evidence that an opt-out is gone.
struct MirrorSync {
    let mirror: ServiceMirror
    let source: any OptOutDirectory
    let reader: WindowReader
    var clock: any EpochClock { mirror.clock }
    var settings: MirrorSettings { mirror.settings }
    var logger: Logger { mirror.logger }

    /// How often a long pass logs its progress.
    static let progressLogInterval: Int64 = 5_000

    init(mirror: ServiceMirror, source: any OptOutDirectory) {
        self.mirror = mirror
        self.source = source
        self.reader = WindowReader(source: source, logger: mirror.logger)
    }

    /// Runs (or resumes) a full pass; while the mirror is complete, runs incremental syncs between its windows
    /// whenever one is due, so a long reconciliation never lets the mirror go stale.
    func fullPass() async throws(OptOutError) {
        var progress = mirror.progress
        let initial = !progress.complete
        let kind = initial ? "initial sync" : "reconciliation"
        if !progress.passUnderWay {
            let now = clock.nowMilliseconds()
            try await save { progress in
                progress.passEnd = now
                progress.passCursor = now
                progress.passSpan = nil
                progress.passStartedAt = now
                progress.passRecords = 0
                progress.passCalls = 0
                progress.passRemoved = 0
                if initial { progress.initialStartedAt = now }
            }
            progress = mirror.progress
            logger.info("mirror \(kind) started", metadata: ["endTime": "\(now)"])
        } else {
            logger.info("mirror \(kind) resumed", metadata: ["records": "\(progress.passRecords)", "sensCalls": "\(progress.passCalls)"])
        }
        let passStarted = clock.nowMilliseconds()
        var lastLog = passStarted, lastIncremental = passStarted
        var recordsAtLog = progress.passRecords
        do {
            try await reader.read(0, progress.passCursor!, span: mirror.narrowedSpan ?? progress.passSpan, beginRead: mirror.beginRead,
                                  narrowed: { mirror.narrowedSpan = $0 }) { window in
                mirror.narrowedSpan = nil
                // The first pass has nothing to remove: the mirror holds only what this pass stored, above this window.
                let (removals, confirmCalls) = initial ? ([], 0) : try await confirmedRemovals(window)
                try await mirror.store(records: window.records, removals: removals, readAt: window.generation) { progress in
                    progress.passCursor = window.lower - 1
                    progress.passSpan = window.nextSpan
                    progress.passRecords += window.records.count
                    progress.passCalls += window.calls + confirmCalls
                    progress.passRemoved += removals.count
                    if let newest = window.records.map(\.registeredAtMilliseconds).max() {
                        progress.newestRegisteredAt = max(progress.newestRegisteredAt ?? newest, newest)
                    }
                }
                let now = clock.nowMilliseconds()
                if now - lastLog >= Self.progressLogInterval {
                    let current = mirror.progress
                    let rate = Double(current.passRecords - recordsAtLog) * 1000 / Double(max(1, now - lastLog))
                    logger.info("mirror \(kind) progress", metadata: [
                        "records": "\(current.passRecords)", "sensCalls": "\(current.passCalls)", "recordsPerSecond": "\(Int(rate))",
                    ])
                    lastLog = now
                    recordsAtLog = current.passRecords
                }
                if !initial, now - lastIncremental >= settings.syncInterval.totalMilliseconds {
                    try await incremental()
                    lastIncremental = clock.nowMilliseconds()
                }
            }
        } catch {
            let current = mirror.progress
            mirror.finishSync(kind: "full", startedAt: passStarted, outcome: "\(kind) failed: \(error.reason)",
                              sensCalls: current.passCalls - progress.passCalls, succeeded: false)
            if !initial { mirror.finishReconciliation(outcome: "failed: \(error.reason)") }
            throw error
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
            progress.passCursor = nil
            progress.passSpan = nil
        }
        mirror.finishSync(kind: "full", startedAt: passStarted, outcome: "ok", sensCalls: finished.passCalls - progress.passCalls, succeeded: true)
        mirror.finishReconciliation(outcome: "ok")
        logger.info("mirror \(kind) completed", metadata: [
            "records": "\(finished.passRecords)", "sensCalls": "\(finished.passCalls)", "removed": "\(finished.passRemoved)",
            "seconds": "\(Double(clock.nowMilliseconds() - (finished.passStartedAt ?? passStarted)) / 1000)",
        ])
    }

    /// Reads from the earlier of the newest registration seen and the point every registration has been read up
    /// to, less the overlap, to now. Where the next one starts moves only once every window has been read: a sync
    /// that fails midway is read again whole.
    func incremental() async throws(OptOutError) {
        let started = clock.nowMilliseconds()
        let progress = mirror.progress
        let covered = progress.syncedThrough ?? progress.lastSyncAt ?? started
        let from = max(0, min(progress.newestRegisteredAt ?? covered, covered, started) - settings.overlapMilliseconds)
        var calls = 0
        var newest = progress.newestRegisteredAt
        do {
            try await reader.read(from, started, span: nil, beginRead: mirror.beginRead) { window in
                let (removals, confirmCalls) = try await confirmedRemovals(window)
                calls += window.calls + confirmCalls
                try await mirror.store(records: window.records, removals: removals, readAt: window.generation) { _ in }
                if let windowNewest = window.records.map(\.registeredAtMilliseconds).max() { newest = max(newest ?? windowNewest, windowNewest) }
            }
            try await save { progress in
                progress.newestRegisteredAt = newest
                progress.lastSyncAt = started
                progress.syncedThrough = max(progress.syncedThrough ?? started, started)
            }
        } catch {
            mirror.finishSync(kind: "incremental", startedAt: started, outcome: "failed: \(error.reason)", sensCalls: calls, succeeded: false)
            throw error
        }
        mirror.finishSync(kind: "incremental", startedAt: started, outcome: "ok", sensCalls: calls, succeeded: true)
    }

    /// The numbers the mirror holds in the window that the window's read did not list and that the source, asked
    /// for each by number, no longer holds; and how many calls that took.
    private func confirmedRemovals(_ window: WindowReader.Window) async throws(OptOutError) -> ([PhoneKey], Int) {
        let candidates = mirror.removalCandidates(window.lower, window.upper, listed: Set(window.records.map(\.key)), readAt: window.generation)
        var confirmed: [PhoneKey] = []
        for key in candidates {
            // A number the mirror holds was valid when stored; one that is not now is left for a person to see.
            guard let number = try? PhoneNumber.parse(key.digits) else { continue }
            if try await source.check(number, refresh: true).value == nil { confirmed.append(key) }
        }
        return (confirmed, candidates.count)
    }

    /// Saves a change to the progress on its own.
    private func save(_ change: @escaping (inout MirrorProgress) -> Void) async throws(OptOutError) {
        do {
            try await mirror.store(records: [], readAt: .max, progress: change)
        } catch {
            throw OptOutError(.failed, "the mirror could not save its progress: \(error)")
        }
    }
}
