import Logging
import OptOuts

/// Reads a time range of the source's list in windows that each come back whole from one call: a window whose
/// page is full is split until it is not, so no answer depends on the source keeping its list in one order
/// between two calls (SENS documents none) and no record added or removed meanwhile can shift a page over
/// another. Only a single millisecond holding more than a page (a bulk register) is paged through.
struct WindowReader {
    let source: any OptOutDirectory
    let logger: Logger
    static let pageSize = OptOutQuery.maxPageSize
    /// Windows grow or shrink toward this many records.
    static let targetRecords: Int64 = 70

    /// One window's records and the span (ms) suggested for the next.
    struct Window {
        var lower: Int64
        var upper: Int64
        var records: [MirrorRecord]
        var nextSpan: Int64
        var calls: Int
        /// What `beginRead` returned just before the window was read.
        var generation: UInt64
    }

    /// Reads `lower...upper` newest window first, starting with a window `span` wide (the whole range when nil),
    /// handing each window to `handle` before reading the next. `beginRead` is called before each window is read.
    /// `narrowed` hears of every split, so that a pass that fails before its first window is stored does not start
    /// splitting again from the whole range.
    func read(_ lower: Int64, _ upper: Int64, span: Int64?, beginRead: () -> UInt64, narrowed: (Int64) -> Void = { _ in }, handle: (Window) async throws -> Void) async throws(OptOutError) {
        var upper = upper
        var span = max(1, span ?? (upper - lower + 1))
        var calls = 0
        while upper >= lower {
            try Task.checkCancellation(orThrow: OptOutError(.unavailable, "the sync was stopped"))
            let windowLower = upper - lower + 1 > span ? upper - span + 1 : lower
            let generation = beginRead()
            calls += 1
            var (records, full) = try await list(windowLower, upper, page: 0)
            if full && windowLower < upper {
                span = max(1, (upper - windowLower + 1) / 2)
                narrowed(span)
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
                        let (next, nextFull) = try await list(windowLower, upper, page: page)
                        calls += 1
                        let fresh = next.filter { seen.insert($0.key).inserted }
                        // A source that ignores the page index would otherwise be paged for ever.
                        guard !fresh.isEmpty || next.isEmpty || page <= seen.count / Self.pageSize else {
                            throw OptOutError(.failed, "SENS answered page \(page) of one millisecond with no new record")
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
            do {
                try await handle(Window(lower: windowLower, upper: upper, records: records, nextSpan: nextSpan, calls: calls,
                                          generation: generation))
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
    /// digits can match no number a caller asks about, so it is skipped (and logged, without the number).
    private func list(_ lower: Int64, _ upper: Int64, page: Int) async throws(OptOutError) -> (records: [MirrorRecord], full: Bool) {
        let answer = try await source.list(OptOutQuery(fromMilliseconds: lower, toMilliseconds: upper, page: page, pageSize: Self.pageSize),
                                           refresh: true)
        guard answer.value.allSatisfy({ (lower...upper).contains($0.registeredAtMilliseconds) }) else {
            throw OptOutError(.failed, "SENS answered records outside the time window it was asked for")
        }
        let records = answer.value.compactMap(MirrorRecord.init)
        if records.count < answer.value.count {
            logger.warning("SENS listed opt-outs whose number is not digits; the mirror skips them", metadata: ["count": "\(answer.value.count - records.count)"])
        }
        return (records, answer.value.count == Self.pageSize)
    }
}

extension Int64 {
    func saturatingTimes(_ factor: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: factor)
        return overflow ? .max : product
    }
}

extension Task where Success == Never, Failure == Never {
    static func checkCancellation(orThrow error: OptOutError) throws(OptOutError) {
        if Task.isCancelled { throw error }
    }
}
