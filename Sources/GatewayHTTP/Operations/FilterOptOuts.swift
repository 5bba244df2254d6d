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
    static var maxColumnCharacters: Int { 128 }

    var streamsBody: Bool { true }

    func answer(_ request: OperationRequest) async -> Response {
        guard let mirror = mirrors[request.service.name] else {
            return unavailable("the mirror is turned off (MIRROR_ENABLED=false): the filter needs it", request)
        }
        let reader: any RecipientReader
        switch self.reader(request) {
        case .reader(let chosen): reader = chosen
        case .refused(let status, let detail, let invalidParams):
            return request.problem(status, detail, invalidParams: invalidParams)
        }
        // Checked before the body is read: a mirror that cannot vouch never says "not opted out".
        guard let asOf = mirror.asOf() else {
            return unavailable(mirror.status().detail ?? "the mirror cannot vouch for the list now", request)
        }
        guard admission.enter() else {
            var response = request.problem(
                503,
                "this replica is answering \(admission.limit) filters already; retry in a second"
            )
            response.headers[.retryAfter] = "1"
            return response
        }
        defer { admission.leave() }
        let wantsCSV = Self.acceptsCSV(request.request.headers[values: .accept])
        var filter = RecipientFilter(mirror: mirror, keepAllowed: wantsCSV)
        var bodyReader = reader
        let read = await BodyReading.stream(request.request.body, limit: request.bodyLimit) { chunk in
            try chunk.withUnsafeReadableBytes { bytes in try bodyReader.read(bytes) { filter.add($0) } }
        }
        switch read {
        case .success: break
        case .failure(.body(let failure)): return request.refused(failure.refusal)
        case .failure(.reader(let error)): return refused(error, request)
        }
        do {
            try bodyReader.finish { filter.add($0) }
        } catch {
            return refused(error, request)
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
        let body =
            wantsCSV
            ? FilterAnswer.csv(filter) : FilterAnswer.json(filter, asOf: asOf, utcOffsetSeconds: utcOffsetSeconds)
        let age = max(0, Int(clock.nowMilliseconds() - asOf) / 1000)
        return Response(
            status: .ok,
            headers: [
                .contentType: wantsCSV ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
                .xCache: "MIRROR", .age: String(age),
                .xFilterChecked: String(filter.checked), .xFilterOptedOut: String(filter.optedOut.count),
                .xFilterInvalid: String(filter.invalid.count), .xFilterUnverified: String(filter.unverified.count),
                .xMirrorAsOf: RFC3339.format(epochMilliseconds: asOf, utcOffsetSeconds: utcOffsetSeconds),
            ],
            body: .init(byteBuffer: body)
        )
    }

    /// The reader for the body's media type, or why the request is refused.
    private enum ReaderChoice {
        case reader(any RecipientReader)
        case refused(status: Int, detail: String, invalidParams: [(name: String, reason: String)])
    }

    private func reader(_ request: OperationRequest) -> ReaderChoice {
        let column = request.query["column"]
        if let column, column.isEmpty || column.count > Self.maxColumnCharacters {
            let reason = "must be 1 to \(Self.maxColumnCharacters) characters"
            return .refused(status: 400, detail: "column: \(reason)", invalidParams: [("column", reason)])
        }
        let mediaType = request.request.headers[.contentType]?.mediaType ?? ""
        switch mediaType {
        case "text/csv":
            return .reader(LineRecipientReader(format: .csv(column: column), maxRecipients: Self.maxRecipients))
        case "application/json", "text/plain":
            if column != nil {
                let reason = "only a text/csv body has columns"
                return .refused(status: 400, detail: "column: \(reason)", invalidParams: [("column", reason)])
            }
            return .reader(
                mediaType == "text/plain"
                    ? LineRecipientReader(format: .plain, maxRecipients: Self.maxRecipients) as any RecipientReader
                    : JSONRecipientReader(maxRecipients: Self.maxRecipients)
            )
        default:
            return .refused(
                status: 415,
                detail: "the filter takes Content-Type application/json, text/csv or text/plain",
                invalidParams: []
            )
        }
    }

    /// Whether `Accept` prefers CSV to JSON: each type's quality comes from its most specific range (`text/csv`,
    /// then `text/*`, then `*/*`). Without `Accept`, or on a tie, the answer is JSON.
    static func acceptsCSV(_ values: [String]) -> Bool {
        var qualities: [String: Double] = [:]
        for range in values.flatMap({ $0.split(separator: ",") }) {
            let parts = range.split(separator: ";").map { $0.filter { $0 != " " && $0 != "\t" }.lowercased() }
            guard let type = parts.first, !type.isEmpty else { continue }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            qualities[type] = max(qualities[type] ?? 0, quality)
        }
        func quality(_ type: String, family: String) -> Double {
            qualities[type] ?? qualities[family + "/*"] ?? qualities["*/*"] ?? 0
        }
        return quality("text/csv", family: "text") > quality("application/json", family: "application")
    }

    /// The answer to a body the reader refused.
    private func refused(_ error: any Error, _ request: OperationRequest) -> Response {
        switch error as? FilterBodyError {
        case .malformed(let detail): request.problem(400, detail)
        case .tooManyRecipients(let limit): request.problem(413, "the body holds more than \(limit) recipients")
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
