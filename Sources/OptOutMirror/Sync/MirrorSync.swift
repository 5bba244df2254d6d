import Logging
import OptOuts
import SENSCore

/// The three syncs of one mirror, each as one pass over windows of the source's list:
/// - a full pass reads everything registered up to its start (a fixed end, saved with every window, so that a
///   restart resumes it) and removes what the mirror holds that the source no longer lists: the first pass
///   fills the mirror, later ones are the reconciliation;
/// - an incremental sync reads from the newest registration seen, less the overlap, to now.
struct MirrorSync {
    let mirror: ServiceMirror
    let reader: WindowReader
    var clock: any EpochClock { mirror.clock }
    var settings: MirrorSettings { mirror.settings }
    var logger: Logger { mirror.logger }

    /// How often a long pass logs its progress.
    static let progressLogInterval: Int64 = 5_000

    init(mirror: ServiceMirror, source: any OptOutDirectory) {
        self.mirror = mirror
        self.reader = WindowReader(source: source)
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
        var recordsAtStart = progress.passRecords
        do {
            try await reader.read(0, progress.passCursor!, span: mirror.narrowedSpan ?? progress.passSpan, beginRead: mirror.beginRead,
                                  narrowed: { mirror.narrowedSpan = $0 }) { window in
                mirror.narrowedSpan = nil
                // The first pass has nothing to remove: the mirror holds only what this pass stored, above this window.
                let removed = try await mirror.store(window: window.lower, window.upper, records: window.records, readAt: window.generation,
                                                     removing: !initial) { progress in
                    progress.passCursor = window.lower - 1
                    progress.passSpan = window.nextSpan
                    progress.passRecords += window.records.count
                    progress.passCalls += window.calls
                    if let newest = window.records.map(\.registeredAtMilliseconds).max() {
                        progress.newestRegisteredAt = max(progress.newestRegisteredAt ?? newest, newest)
                    }
                }.removed
                if removed > 0 { try await save { $0.passRemoved += removed } }
                let now = clock.nowMilliseconds()
                if now - lastLog >= Self.progressLogInterval {
                    let current = mirror.progress
                    let rate = Double(current.passRecords - recordsAtStart) * 1000 / Double(max(1, now - lastLog))
                    logger.info("mirror \(kind) progress", metadata: [
                        "records": "\(current.passRecords)", "sensCalls": "\(current.passCalls)", "recordsPerSecond": "\(Int(rate))",
                    ])
                    lastLog = now
                    recordsAtStart = current.passRecords
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

    /// Reads from the newest registration seen, less the overlap, to now; the mirror's answers are then as of
    /// this sync's start.
    func incremental() async throws(OptOutError) {
        let started = clock.nowMilliseconds()
        let progress = mirror.progress
        let from = max(0, (progress.newestRegisteredAt ?? progress.lastSyncAt ?? started) - settings.overlapMilliseconds)
        var calls = 0
        do {
            try await reader.read(from, started, span: nil, beginRead: mirror.beginRead) { window in
                calls += window.calls
                try await mirror.store(window: window.lower, window.upper, records: window.records, readAt: window.generation,
                                       removing: true) { progress in
                    if let newest = window.records.map(\.registeredAtMilliseconds).max() {
                        progress.newestRegisteredAt = max(progress.newestRegisteredAt ?? newest, newest)
                    }
                    progress.lastSyncAt = started
                }
            }
        } catch {
            mirror.finishSync(kind: "incremental", startedAt: started, outcome: "failed: \(error.reason)", sensCalls: calls, succeeded: false)
            throw error
        }
        mirror.finishSync(kind: "incremental", startedAt: started, outcome: "ok", sensCalls: calls, succeeded: true)
    }

    /// Saves a change to the progress on its own.
    private func save(_ change: @escaping (inout MirrorProgress) -> Void) async throws(OptOutError) {
        do {
            try await mirror.store(window: 1, 0, records: [], readAt: .max, removing: false, progress: change)
        } catch {
            throw OptOutError(.failed, "the mirror could not save its progress: \(error)")
        }
    }
}
