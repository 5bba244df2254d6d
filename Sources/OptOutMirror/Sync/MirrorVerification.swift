import Logging
import OptOuts
import SENSCore
import Synchronization

/// A verification pass: finds any difference between the mirror and SENS, in any time range, with about one call
/// per `settings.verifyBucketRecords` records. SENS has no count, but a page index on a time window tells whether
/// SENS holds as many records there as the mirror: for `n` records and a page size `s` (at most 100) that does
/// not divide `n`, page `n / s` holds exactly `n mod s` records when SENS holds `n`, fewer when it holds fewer,
/// more when it holds more. The list up to the pass's start is cut into buckets of about that many records each;
/// each is probed with one call, and a bucket whose count or probed page differs is probed again in eighths until
/// the ranges that differ are small, which are re-read whole (window by window, removals confirmed by number) and
/// brought in line.
///
/// The blind spot: between two passes, an addition and a removal in the same bucket leave its count as it was.
/// The probed page's records are checked one by one too, which catches some of these, and the reconciliation's
/// full pass catches the rest.
struct MirrorVerification {
    let sync: MirrorSync
    var mirror: ServiceMirror { sync.mirror }

    /// What the pass found so far, shared by its concurrent probes.
    private final class Tally: Sendable {
        let state: Mutex<VerificationReport>
        /// The buckets no probe has taken yet.
        let queue: Mutex<ArraySlice<ClosedRange<Int64>>>

        init(_ report: VerificationReport, buckets: [ClosedRange<Int64>]) {
            state = Mutex(report)
            queue = Mutex(buckets[...])
        }
    }

    func run() async throws(OptOutError) {
        let started = mirror.clock.nowMilliseconds()
        // To the overlap past now, as the incremental syncs read: a record SENS stamps ahead of this clock counts too.
        let buckets = mirror.verificationBuckets(
            0,
            started.saturatingAdd(mirror.settings.overlapMilliseconds),
            records: mirror.settings.verifyBucketRecords
        )
        let tally = Tally(VerificationReport(startedAt: started, buckets: buckets.count), buckets: buckets)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<min(mirror.settings.syncConcurrency, max(1, buckets.count)) {
                    group.addTask {
                        while let bucket = tally.queue.withLock({ $0.popFirst() }) {
                            try await check(bucket, tally: tally)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let report = tally.state.withLock { report in
                report.durationMilliseconds = mirror.clock.nowMilliseconds() - started
                return report
            }
            try await sync.save { progress in
                progress.lastVerifiedAt = max(progress.lastVerifiedAt ?? started, started)
                progress.lastVerification = report
            }
        } catch {
            let failure = error as? OptOutError ?? OptOutError(.failed, "\(error)")
            let report = tally.state.withLock { report in
                report.outcome = "failed: \(failure.reason)"
                report.durationMilliseconds = mirror.clock.nowMilliseconds() - started
                return report
            }
            mirror.finishVerification(report, completed: false)
            try? await sync.save { $0.lastVerification = report }
            mirror.logger.warning(
                "mirror verification failed; it is tried again after the verification interval",
                metadata: ["error": "\(failure.reason)"]
            )
            throw failure
        }
        let report = tally.state.withLock { report in
            report.durationMilliseconds = mirror.clock.nowMilliseconds() - started
            return report
        }
        mirror.finishVerification(report, completed: true)
        if report.bucketsDiffered > 0 {
            mirror.logger.notice(
                "mirror verification found differences with SENS and brought them in line",
                metadata: [
                    "buckets": "\(report.buckets)", "bucketsDiffered": "\(report.bucketsDiffered)",
                    "recordsFound": "\(report.recordsFound)",
                    "removalsFound": "\(report.removalsFound)", "sensCalls": "\(report.sensCalls)",
                ]
            )
        }
    }

    /// A differing bucket of more records than this is probed again in eighths before anything is re-read, so
    /// that one record added to a bucket of 10,000 costs about 20 calls, not 150.
    static let narrowAbove = 500

    /// Probes one bucket and, when it differs, its eighths (down to `narrowAbove` records), re-reading the ranges
    /// that differ; counts it in the report's `bucketsDiffered` when `counted`.
    private func check(_ bucket: ClosedRange<Int64>, tally: Tally, counted: Bool = true) async throws {
        let (expected, activity) = mirror.expectedCount(bucket)
        let pageSize = Self.pageSize(for: expected)
        let probe = try await sync.reader.list(
            bucket.lowerBound,
            bucket.upperBound,
            page: expected / pageSize,
            pageSize: pageSize
        )
        tally.state.withLock { $0.sensCalls += 1 }
        let listed = probe.records.count + probe.unkeyed.count
        var why: String?
        if listed != expected % pageSize {
            why = listed < expected % pageSize ? "SENS lists fewer records there" : "SENS lists more records there"
        } else if let record = probe.records.first(where: { !mirror.holds($0) }) {
            why =
                "SENS lists a record there that the mirror does not hold as it is (\(PhoneNumber.mask(record.key.digits)))"
        } else if probe.unkeyed.contains(where: { !mirror.holdsUnkeyed($0.key, at: $0.value) }) {
            why = "SENS lists a record there whose number is not 1 to 16 digits and that the mirror does not hold"
        } else if !mirror.probeConclusive(bucket, since: activity) {
            // The two counts may describe different moments, or a number held opted out for want of knowing may
            // stand in for one SENS lists.
            why = "the mirror changed, a write was under way or a number in doubt is held there while SENS was asked"
        }
        guard let why else { return }
        if counted { tally.state.withLock { $0.bucketsDiffered += 1 } }
        if expected > Self.narrowAbove {
            let eighths = mirror.verificationBuckets(
                bucket.lowerBound,
                bucket.upperBound,
                records: max(1, expected / 8)
            )
            if eighths.count > 1 {
                for eighth in eighths { try await check(eighth, tally: tally, counted: false) }
                return
            }
        }
        mirror.logger.notice(
            "mirror verification: a time range differs from SENS; reading it again",
            metadata: [
                "from": "\(bucket.lowerBound)", "to": "\(bucket.upperBound)", "mirrorRecords": "\(expected)",
                "reason": "\(why)",
            ]
        )
        let done = try await sync.reread(bucket.lowerBound, bucket.upperBound)
        tally.state.withLock { report in
            report.recordsFound += done.found
            report.removalsFound += done.removed
            report.sensCalls += done.calls
        }
    }

    /// A page size of at most 100 that does not divide `count` (one of 100, 99, 98 for any count below 485,100),
    /// so that the page `count / size` is the last and holds `count mod size` records when SENS holds `count`.
    static func pageSize(for count: Int) -> Int {
        guard count > 0 else { return OptOutQuery.maxPageSize }
        return stride(from: OptOutQuery.maxPageSize, through: 2, by: -1).first { count % $0 != 0 }
            ?? OptOutQuery.maxPageSize
    }
}
