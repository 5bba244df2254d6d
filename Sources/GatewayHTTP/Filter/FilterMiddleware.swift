import HTTPTypes
import Hummingbird
import NIOCore
import OptOutMirror
import OptOuts
import SENSCore
import Synchronization
import GatewayAPI

/// `POST /v1/unsubscribes/filter` and `POST /v1/services/{service}/unsubscribes/filter`, answered here, below the
/// request checks and above the generated handlers: the body (up to `maxBodyBytes`) is read as it arrives, each
/// chunk's recipients filtered before the next is read, and the answer written as bytes (`FilterAnswer`). The
/// operations stay declared in `openapi.yaml`, so the route table, the request checks and the contract tests
/// cover them like any other.
struct FilterMiddleware<Context: RequestContext>: RouterMiddleware {
    let services: OptOutServices
    let mirrors: [String: any MirrorReading]
    let maxBodyBytes: Int
    let retryAfterSeconds: Int
    let responseUTCOffsetSeconds: Int
    let clock: any EpochClock
    /// Filters answered at once by this replica: each may hold a million recipients and their answer in memory.
    let admission = FilterAdmission(limit: 2)
    static var maxRecipients: Int { 1_000_000 }
    static var maxColumnCharacters: Int { 128 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let serviceName = Self.serviceName(filterPath: request.uri.path) else {
            return try await next(request, context)
        }
        guard let service = serviceName.isEmpty ? services.defaultService : services.named(serviceName) else {
            return problem(Problems.serviceNotFoundProblem(serviceName, among: services), request)
        }
        guard let mirror = mirrors[service.name] else {
            return unavailable("the mirror is turned off (MIRROR_ENABLED=false): the filter needs it", request)
        }
        let reader: any RecipientReader
        switch self.reader(request) {
        case .reader(let chosen): reader = chosen
        case .refused(let refusal): return problem(refusal, request)
        }
        // Checked before the body is read: a mirror that cannot vouch never says "not opted out".
        guard let asOf = mirror.asOf() else {
            return unavailable(mirror.status().detail ?? "the mirror cannot vouch for the list now", request)
        }
        guard admission.enter() else {
            var response = problem(Problems.make(status: 503, detail: "this replica is answering \(admission.limit) filters already; retry in a second"), request)
            response.headers[.retryAfter] = "1"
            return response
        }
        defer { admission.leave() }
        let wantsCSV = Self.acceptsCSV(request.headers[values: .accept])
        var filter = RecipientFilter(mirror: mirror, keepAllowed: wantsCSV)
        do {
            try await read(request.body, with: reader, into: &filter)
        } catch let error as FilterBodyError {
            switch error {
            case .malformed(let detail): return problem(Problems.make(status: 400, detail: detail), request)
            case .tooManyRecipients(let limit):
                return problem(Problems.make(status: 413, detail: "the body holds more than \(limit) recipients"), request)
            }
        } catch is BodyTooLarge {
            return problem(Problems.make(status: 413, detail: "the body is larger than \(maxBodyBytes) bytes"), request)
        }
        // A mirror that stopped vouching while the body arrived (a register whose answer was lost, say) may have
        // answered some recipients from before it: none of it is given out.
        guard mirror.asOf() != nil else {
            return unavailable(mirror.status().detail ?? "the mirror stopped vouching for the list while the body arrived", request)
        }
        let body = wantsCSV
            ? FilterAnswer.csv(filter)
            : FilterAnswer.json(filter, asOf: asOf, utcOffsetSeconds: responseUTCOffsetSeconds)
        let age = max(0, Int(clock.nowMilliseconds() - asOf) / 1000)
        return Response(status: .ok, headers: [
            .contentType: wantsCSV ? "text/csv; charset=utf-8" : "application/json",
            .xCache: "MIRROR", .age: String(age),
            .xFilterChecked: String(filter.checked), .xFilterOptedOut: String(filter.optedOut.count),
            .xFilterInvalid: String(filter.invalid.count), .xFilterUnverified: String(filter.unverified.count),
            .xMirrorAsOf: RFC3339.format(epochMilliseconds: asOf, utcOffsetSeconds: responseUTCOffsetSeconds),
        ], body: .init(byteBuffer: body))
    }

    private struct BodyTooLarge: Error {}

    /// The generated filter handlers are never reached: this middleware answers their routes first.
    struct NotAnsweredHere: Error {}

    private func read(_ body: RequestBody, with reader: any RecipientReader, into filter: inout RecipientFilter) async throws {
        var reader = reader
        var received = 0
        for try await chunk in body {
            received += chunk.readableBytes
            guard received <= maxBodyBytes else { throw BodyTooLarge() }
            try chunk.withUnsafeReadableBytes { bytes in
                try reader.read(bytes) { filter.add($0) }
            }
        }
        try reader.finish { filter.add($0) }
        filter.flush()
    }

    /// The reader for the body's media type, or why the request is refused.
    private enum ReaderChoice {
        case reader(any RecipientReader)
        case refused(Components.Schemas.Problem)
    }

    private func reader(_ request: Request) -> ReaderChoice {
        let column = request.uri.queryParameters.get("column").map { String($0) }
        if let column, column.isEmpty || column.count > Self.maxColumnCharacters {
            return .refused(Problems.make(status: 400, detail: "column: must be 1 to \(Self.maxColumnCharacters) characters",
                                          invalidParams: [("column", "must be 1 to \(Self.maxColumnCharacters) characters")]))
        }
        let mediaType = request.headers[.contentType]?.mediaType ?? ""
        switch mediaType {
        case "text/csv":
            return .reader(LineRecipientReader(format: .csv(column: column), maxRecipients: Self.maxRecipients))
        case "application/json", "text/plain":
            if column != nil {
                return .refused(Problems.make(status: 400, detail: "column: only a text/csv body has columns",
                                              invalidParams: [("column", "only a text/csv body has columns")]))
            }
            return .reader(mediaType == "text/plain"
                ? LineRecipientReader(format: .plain, maxRecipients: Self.maxRecipients) as any RecipientReader
                : JSONRecipientReader(maxRecipients: Self.maxRecipients))
        default:
            return .refused(Problems.make(status: 415, detail: "the filter takes Content-Type application/json, text/csv or text/plain"))
        }
    }

    /// The service a filter path names (`""` for the default one), or nil for any other path.
    static func serviceName(filterPath path: String) -> String? {
        if path == "/v1/unsubscribes/filter" { return "" }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count == 6, segments[1] == "v1", segments[2] == "services", segments[4] == "unsubscribes",
              segments[5] == "filter", !segments[3].isEmpty else { return nil }
        return String(segments[3])
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
        func quality(_ type: String, family: String) -> Double { qualities[type] ?? qualities[family + "/*"] ?? qualities["*/*"] ?? 0 }
        return quality("text/csv", family: "text") > quality("application/json", family: "application")
    }

    private func unavailable(_ detail: String, _ request: Request) -> Response {
        var response = problem(Problems.mirrorUnavailableProblem(detail), request)
        response.headers[.retryAfter] = String(retryAfterSeconds)
        return response
    }

    private func problem(_ problem: Components.Schemas.Problem, _ request: Request) -> Response {
        var problem = problem
        problem.instance = request.uri.path
        return .problem(problem)
    }
}

extension HTTPField.Name {
    static let xCache = Self("X-Cache")!
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
