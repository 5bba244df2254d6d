import HTTPTypes
import Hummingbird
import NIOCore
import OptOutMirror
import OptOuts
import SENSCore
import Synchronization

/// `filterOptOuts`, `filterServiceOptOuts`: `POST …/unsubscribes/filter`, a campaign's recipients against the
/// mirror. The body (up to its bound) is read as it arrives, each chunk's recipients filtered before the next is
/// read, and the answer written as bytes (`FilterAnswer`).
struct FilterOptOuts: GatewayOperation {
    let mirrors: [String: any MirrorReading]
    let retryAfterSeconds: Int
    let utcOffsetSeconds: Int
    let clock: any EpochClock
    /// Filters answered at once by this replica: each may hold a million recipients and their answer in memory.
    let admission = FilterAdmission(limit: 2)
    static var maxRecipients: Int { 1_000_000 }

    var streamsBody: Bool { true }

    func answer(_ request: OperationRequest) async -> Response {
        guard let mirror = mirrors[request.service.name] else {
            return unavailable("the mirror is turned off (MIRROR_ENABLED=false): the filter needs it", request)
        }
        let plan: FilterPlan
        do {
            plan = try FilterPlan(
                query: request.query,
                contentType: request.request.headers[.contentType],
                accept: request.request.headers[values: .accept]
            )
        } catch {
            return request.problem(error.status, error.detail, invalidParams: error.invalidParams)
        }
        var decoder: TextBodyDecoder?
        if case .json = plan.body {
            decoder = nil
        } else {
            guard let textDecoder = TextBodyDecoder(declared: plan.declaredCharset) else {
                return request.problem(500, "this system's C library cannot convert CP949 (iconv)")
            }
            decoder = textDecoder
        }
        // Checked before the body is read: a mirror that cannot vouch never says "not opted out".
        guard let asOf = mirror.asOf() else {
            return unavailable(mirror.status().detail ?? "the mirror cannot vouch for the list now", request)
        }
        guard admission.enter() else {
            return request.problem(
                503,
                "this replica is answering \(admission.limit) filters already; retry in a second",
                retryAfterSeconds: 1
            )
        }
        defer { admission.leave() }
        var rows: FilterRows?
        if case .rows(let view) = plan.answer { rows = FilterRows(view: view, utcOffsetSeconds: utcOffsetSeconds) }
        var filter = RecipientFilter(mirror: mirror, options: plan.options, rows: rows)
        var bodyReader = plan.reader(maxRecipients: Self.maxRecipients)
        let read = await BodyReading.stream(request.request.body, limit: request.bodyLimit) { chunk in
            try chunk.withUnsafeReadableBytes { bytes throws(FilterBodyError) in
                guard decoder != nil else { return try bodyReader.read(bytes) { filter.add($0) } }
                try decoder!.decode(bytes) { text throws(FilterBodyError) in
                    try bodyReader.read(text) { filter.add($0) }
                }
            }
        }
        switch read {
        case .success: break
        case .failure(.body(let failure)): return request.refused(failure.refusal)
        case .failure(.reader(let error)): return refused(error, at: bodyReader.currentLine, request)
        }
        do throws(FilterBodyError) {
            try decoder?.finish { text throws(FilterBodyError) in try bodyReader.read(text) { filter.add($0) } }
            try bodyReader.finish { filter.add($0) }
        } catch {
            return refused(error, at: bodyReader.currentLine, request)
        }
        filter.flush()
        // A mirror that stopped vouching while the body arrived (a register whose answer was lost, say) may have
        // answered some recipients from before it: none of it is given out.
        guard mirror.asOf() != nil else {
            return unavailable(
                mirror.status().detail ?? "the mirror stopped vouching for the list while the body arrived",
                request
            )
        }
        // Opt-outs that arrived while the body did: the answer would allow a number the mirror now lists.
        if filter.allowedSinceListed() {
            return request.problem(
                503,
                "a number this list allows was opted out (or fell in doubt) while the body arrived; filter again",
                retryAfterSeconds: 1
            )
        }
        let lineReader = bodyReader as? LineRecipientReader
        var headers: HTTPFields = [
            .xCache: "MIRROR", .age: String(max(0, Int(clock.nowMilliseconds() - asOf) / 1000)),
            .xFilterChecked: String(filter.checked), .xFilterOptedOut: String(filter.optedOut.count),
            .xFilterInvalid: String(filter.invalid.count), .xFilterUnverified: String(filter.unverified.count),
            .xMirrorAsOf: RFC3339.format(epochMilliseconds: asOf, utcOffsetSeconds: utcOffsetSeconds),
            .xFilterReadAs: Self.readAs(plan, lineReader: lineReader, charset: decoder?.charset ?? .utf8),
        ]
        if plan.options.repairLeadingZero { headers[.xFilterRepaired] = String(filter.repaired.count) }
        if plan.options.dedupe { headers[.xFilterDuplicates] = String(filter.duplicates) }
        if let lineReader, lineReader.multilineRecords > 0 {
            headers[.xFilterMultilineRecords] = String(lineReader.multilineRecords)
        }
        let body: ByteBuffer
        switch plan.answer {
        case .json:
            headers[.contentType] = "application/json; charset=utf-8"
            body = FilterAnswer.json(filter, header: lineReader?.header, asOf: asOf, utcOffsetSeconds: utcOffsetSeconds)
        case .numbers, .rows:
            var pieces: [[UInt8]]
            if let rows = filter.rows {
                // A UTF-8 answer starts with a BOM when the body did (CP949 has none).
                let bom: [UInt8] =
                    lineReader?.startedWithBOM == true && plan.answerCharset.charset == .utf8 ? [0xEF, 0xBB, 0xBF] : []
                pieces = [bom + rows.headerLine(lineReader?.header), rows.bytes]
            } else {
                pieces = [FilterAnswer.numbers(filter)]
            }
            if plan.answerCharset.charset == .cp949 {
                switch FilterAnswer.cp949(pieces) {
                case .success(let converted): pieces = [converted]
                case .failure(let refusal): return request.problem(406, refusal.detail)
                }
            }
            headers[.contentType] = "text/csv; charset=" + plan.answerCharset.label
            var buffer = ByteBuffer()
            buffer.reserveCapacity(pieces.reduce(0) { $0 + $1.count })
            for piece in pieces { buffer.writeBytes(piece) }
            body = buffer
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// The `X-Filter-Read-As` header: the media type and charset the body was read as.
    private static func readAs(_ plan: FilterPlan, lineReader: LineRecipientReader?, charset: TextCharset) -> String {
        let mediaType =
            switch plan.body {
            case .json: "application/json"
            case .plain: "text/plain"
            case .csv: lineReader?.isTabSeparated == true ? "text/tab-separated-values" : "text/csv"
            }
        return mediaType + "; charset=" + charset.rawValue
    }

    /// The answer to a body the reader refused.
    private func refused(_ error: any Error, at line: Int?, _ request: OperationRequest) -> Response {
        switch error as? FilterBodyError {
        case .malformed(let detail): request.problem(400, detail)
        case .tooManyRecipients(let limit): request.problem(413, "the body holds more than \(limit) recipients")
        case .undecodable(let detail): request.problem(400, line.map { "line \($0): " + detail } ?? detail)
        case nil: request.problem(400, "the body could not be read")
        }
    }

    private func unavailable(_ detail: String, _ request: OperationRequest) -> Response {
        Problems.mirrorUnavailable(detail, retryAfterSeconds: retryAfterSeconds, instance: request.path)
    }
}

extension HTTPField.Name {
    static let xFilterChecked = Self("X-Filter-Checked")!
    static let xFilterOptedOut = Self("X-Filter-Opted-Out")!
    static let xFilterInvalid = Self("X-Filter-Invalid")!
    static let xFilterUnverified = Self("X-Filter-Unverified")!
    static let xMirrorAsOf = Self("X-Mirror-As-Of")!
    /// The change feed's cursor at an export's snapshot: follow the feed from it to keep the exported list in step.
    static let xChangeCursor = Self("X-Change-Cursor")!
    static let xFilterReadAs = Self("X-Filter-Read-As")!
    static let xFilterRepaired = Self("X-Filter-Repaired")!
    static let xFilterDuplicates = Self("X-Filter-Duplicates")!
    static let xFilterMultilineRecords = Self("X-Filter-Multiline-Records")!
}

/// Counts the filters under way against a limit.
final class FilterAdmission: Sendable {
    let limit: Int
    private let running = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Whether one more may start; each `true` is followed by one `leave()`.
    func enter() -> Bool {
        if running.add(1, ordering: .relaxed).newValue <= limit { return true }
        running.subtract(1, ordering: .relaxed)
        return false
    }

    func leave() { running.subtract(1, ordering: .relaxed) }
}

/// One admitted answer whose work outlives `answer` (a streamed body): it leaves the admission when released.
final class AdmissionTicket: Sendable {
    private let admission: FilterAdmission

    init(_ admission: FilterAdmission) { self.admission = admission }

    deinit { admission.leave() }
}
