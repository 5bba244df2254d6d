import Logging
import OptOuts
import Tracing

/// Reads a time range of the source's list in windows that each come back whole from one call: a window whose
/// page is full is split until it is not, so no answer depends on the source keeping its list in one order
/// between two calls (SENS documents none) and no record added or removed meanwhile can shift a page over
/// another. Only a single millisecond holding more than a page (a bulk register) is paged through. Every call
/// goes through the mirror's `SyncCallLimiter`.
struct WindowReader {
    let source: any OptOutDirectory
    let limiter: SyncCallLimiter
    /// A span per window stored (its range, records and SENS calls), when traces are on.
    var tracer: any Tracer = NoOpTracer()
    static let pageSize = OptOutQuery.maxPageSize
    /// Windows grow or shrink toward this many records.
    static let targetRecords: Int64 = 70

    /// One window's records and the span (ms) suggested for the next.
    struct Window {
        var lower: Int64
        var upper: Int64
        var records: [MirrorRecord]
        /// Records whose number is not 1 to 16 digits (no `PhoneKey`), by number, with their registration time.
        var unkeyed: [String: Int64]
        var nextSpan: Int64
        var calls: Int
        /// What `beginRead` returned just before the window was read.
        var generation: UInt64

        var range: ClosedRange<Int64> { lower...upper }
    }

    /// Reads `lower...upper` newest window first, starting with a window `span` wide (the whole range when nil),
    /// handing each window to `handle` before reading the next. `beginRead` is called before each window is read.
    /// Before each window, `shed` may give the older part of what is left (given with the window span) to another
    /// reader: it returns the lower bound to go on with.
    func read(
        _ lower: Int64,
        _ upper: Int64,
        span: Int64?,
        beginRead: () -> UInt64,
        shed: (_ lower: Int64, _ upper: Int64, _ span: Int64) -> Int64 = { lower, _, _ in lower },
        handle: (Window) async throws -> Void
    ) async throws(OptOutError) {
        var lower = lower
        var upper = upper
        var span = max(1, span ?? (upper - lower + 1))
        var calls = 0
        while upper >= lower {
            try Task.checkCancellation(orThrow: OptOutError(.unavailable, "the sync was stopped"))
            lower = max(lower, shed(lower, upper, span))
            let windowLower = upper - lower + 1 > span ? upper - span + 1 : lower
            let generation = beginRead()
            calls += 1
            var (records, unkeyed, full) = try await list(windowLower, upper, page: 0, pageSize: Self.pageSize)
            if full && windowLower < upper {
                span = max(1, (upper - windowLower + 1) / 2)
                continue
            }
            if full {
                // One millisecond with more than a page: the only place a page index is used. Its pages are read
                // twice and joined, so that a record a removal shifted from one page to another while they were
                // read is still found, and nothing is taken for removed unless neither reading has it.
                var seen = Set(records.map(\.key))
                for reading in 0..<2 {
                    var page = reading == 0 ? 1 : 0
                    while true {
                        let (next, nextUnkeyed, nextFull) = try await list(
                            windowLower,
                            upper,
                            page: page,
                            pageSize: Self.pageSize
                        )
                        calls += 1
                        unkeyed.merge(nextUnkeyed) { first, _ in first }
                        let fresh = next.filter { seen.insert($0.key).inserted }
                        // A source that ignores the page index would otherwise be paged for ever.
                        guard !fresh.isEmpty || next.isEmpty || page <= seen.count / Self.pageSize else {
                            throw OptOutError(
                                .failed,
                                "SENS answered page \(page) of one millisecond with no new record"
                            )
                        }
                        records += fresh
                        if !nextFull { break }
                        page += 1
                    }
                }
            }
            let width = upper - windowLower + 1
            let count = Int64(records.count)
            // Toward `targetRecords` a window, growing at most eightfold.
            let suggested = count == 0 ? width.saturatingTimes(8) : (width / count).saturatingTimes(Self.targetRecords)
            let nextSpan = max(1, min(suggested, width.saturatingTimes(8)))
            let window = Window(
                lower: windowLower,
                upper: upper,
                records: records,
                unkeyed: unkeyed,
                nextSpan: nextSpan,
                calls: calls,
                generation: generation
            )
            do {
                try await tracer.withSpan("mirror sync window") { span in
                    span.attributes["sens_gateway.window.from_ms"] = window.lower
                    span.attributes["sens_gateway.window.to_ms"] = window.upper
                    span.attributes["sens_gateway.window.records"] = window.records.count
                    span.attributes["sens_gateway.window.sens_calls"] = window.calls
                    try await handle(window)
                }
                calls = 0
            } catch let error as OptOutError {
                throw error
            } catch {
                throw OptOutError(.failed, "the mirror could not store a window: \(error)")
            }
            span = nextSpan
            upper = windowLower - 1
        }
    }

    /// One page of `lower...upper`, and whether it was full. A record outside the window means the source did not
    /// filter as asked: nothing it answered can be trusted to be the whole window. A record whose number is not
    /// 1 to 16 digits has no key: it is returned apart (`Window.unkeyed`).
    func list(
        _ lower: Int64,
        _ upper: Int64,
        page: Int,
        pageSize: Int
    ) async throws(OptOutError)
        -> (records: [MirrorRecord], unkeyed: [String: Int64], full: Bool)
    {
        let source = self.source
        let answer = try await limiter.call { () throws(OptOutError) in
            try await source.list(
                OptOutQuery(fromMilliseconds: lower, toMilliseconds: upper, page: page, pageSize: pageSize),
                refresh: true
            )
        }
        guard answer.value.allSatisfy({ (lower...upper).contains($0.registeredAtMilliseconds) }) else {
            throw OptOutError(.failed, "SENS answered records outside the time window it was asked for")
        }
        var records: [MirrorRecord] = []
        records.reserveCapacity(answer.value.count)
        var unkeyed: [String: Int64] = [:]
        for optOut in answer.value {
            if let record = MirrorRecord(optOut) {
                records.append(record)
            } else {
                unkeyed[optOut.phoneNumber] = optOut.registeredAtMilliseconds
            }
        }
        return (records, unkeyed, answer.value.count == pageSize)
    }
}

extension Int64 {
    func saturatingTimes(_ factor: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: factor)
        return overflow ? .max : product
    }

    func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}

extension Task where Success == Never, Failure == Never {
    static func checkCancellation(orThrow error: OptOutError) throws(OptOutError) {
        if Task.isCancelled { throw error }
    }
}
