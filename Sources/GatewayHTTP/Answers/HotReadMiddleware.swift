import HTTPTypes
import Hummingbird
import OptOutMirror
import OptOuts
import SENSCore

/// The reads that make up most of the traffic, answered here as bytes (`OptOutAnswers`), above the request checks
/// and the generated handlers: the check, the list page, the change feed, and `/healthz`.
///
/// Only plain requests are taken: no empty path segment, no body, only the query parameters each operation takes,
/// each once and of plain digits or cursor characters, no percent-encoding in the path, at most one
/// `Cache-Control`, itself without `%`. Anything else, and any answer other than a 200, a source's failure or a
/// change feed's refusal, passes on to the generic path, which checks and answers it as before. The operations
/// stay declared in `openapi.yaml`, and `HotAnswerTests` holds both paths to the same answers.
struct HotReadMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let services: OptOutServices
    let mirrors: [String: any MirrorReading]
    let mirrorHandlers: MirrorHandlers
    let answers: OptOutAnswers

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The target as sent: `request.uri`'s path and query are made into new strings at each use.
        guard request.method == .get, let route = context.endpointPath, let target = request.head.path, !request.headers.announcesBody else {
            return try await next(request, context)
        }
        let queryStart = target.utf8.firstIndex(of: UInt8(ascii: "?"))
        let query = queryStart.map { target[target.index(after: $0)...] }
        guard Self.isPlain(path: target[..<(queryStart ?? target.endIndex)]) else { return try await next(request, context) }
        let answer: Response?
        switch route {
        case "/healthz": answer = query == nil ? .json(Self.healthBody) : nil
        case "/v1/unsubscribes/{phoneNumber}": answer = await check(query, request, context, in: services.defaultService)
        case "/v1/services/{service}/unsubscribes/{phoneNumber}": answer = await check(query, request, context, in: service(context))
        case "/v1/unsubscribes": answer = await list(query, request, in: services.defaultService)
        case "/v1/services/{service}/unsubscribes": answer = await list(query, request, in: service(context))
        case "/v1/unsubscribes/changes": answer = await changes(query, request, in: services.defaultService)
        case "/v1/services/{service}/unsubscribes/changes": answer = await changes(query, request, in: service(context))
        default: answer = nil
        }
        if let answer { return answer }
        return try await next(request, context)
    }

    /// `GetHealth`'s answer, shared by every answer (a buffer is copied only when written to).
    private static let healthBody = ByteBuffer(staticString: #"{"status":"ok"}"#)

    private func check(_ query: Substring?, _ request: Request, _ context: Context, in service: OptOutService?) async -> Response? {
        guard let service, query == nil, let refresh = Self.refresh(request),
              let text = context.plainParameter("phoneNumber"),
              let number = try? PhoneNumber.parse(text) else { return nil }
        do {
            let answer = try await service.directory.check(number, refresh: refresh)
            return .json(answers.status(digits: number.digits, answer.value), headers: Self.origin(answer))
        } catch {
            return .readFailure(error)
        }
    }

    private func list(_ query: Substring?, _ request: Request, in service: OptOutService?) async -> Response? {
        guard let service, let refresh = Self.refresh(request),
              let parameters = Self.digitParameters(query, names: ["page", "pageSize"]),
              case .success(let query) = APIMapping.query(phoneNumber: nil, from: nil, to: nil, page: parameters["page"], pageSize: parameters["pageSize"])
        else { return nil }
        do {
            let answer = try await service.directory.list(query, refresh: refresh)
            return .json(answers.page(answer.value, query), headers: Self.origin(answer))
        } catch {
            return .readFailure(error)
        }
    }

    private func changes(_ query: Substring?, _ request: Request, in service: OptOutService?) async -> Response? {
        guard let service else { return nil }
        var after: String?, limit: Int?
        if let query {
            for item in query.split(separator: "&", omittingEmptySubsequences: false) {
                if item.hasPrefix("after="), after == nil, let value = Self.cursorText(item.dropFirst(6)) {
                    after = value
                } else if item.hasPrefix("limit="), limit == nil, let value = Self.digits(item.dropFirst(6)) {
                    limit = value
                } else {
                    return nil
                }
            }
        }
        switch await MirrorHandlers.read(after: after, limit: limit, mirror: mirrors[service.name]) {
        case .success(let page): return .json(answers.changes(page))
        case .failure(let refusal):
            // Answered here: the generic path would read the store again to refuse the same way.
            let (problem, retryAfter) = mirrorHandlers.problem(refusal)
            var response = Response.problem(problem)
            if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
            return response
        }
    }

    private func service(_ context: Context) -> OptOutService? {
        context.plainParameter("service").flatMap(services.named)
    }

    // MARK: What makes a request plain

    /// The router takes `/a/` and `/a//b` for `/a` and `/a/b`; the request checks refuse them (an empty parameter,
    /// no such route). A fragment is left to the generic path too.
    private static func isPlain(path: Substring) -> Bool {
        var previous: UInt8 = 0
        for byte in path.utf8 {
            if byte == UInt8(ascii: "#") || (byte == UInt8(ascii: "/") && previous == byte) { return false }
            previous = byte
        }
        return previous != UInt8(ascii: "/")
    }

    /// Whether the caller asked for a fresh answer; nil (not plain) when `Cache-Control` is given more than once or
    /// holds a `%` (the generated handlers percent-decode header values).
    private static func refresh(_ request: Request) -> Bool? {
        let values = request.headers[values: .cacheControl]
        guard values.count <= 1, values.first?.utf8.contains(UInt8(ascii: "%")) != true else { return nil }
        return APIMapping.refresh(values.first)
    }

    /// The query's parameters when each is one of `names`, given once, with 1–7 ASCII digits; nil otherwise.
    private static func digitParameters(_ query: Substring?, names: Set<String>) -> [String: Int]? {
        var values: [String: Int] = [:]
        guard let query else { return values }
        for item in query.split(separator: "&", omittingEmptySubsequences: false) {
            guard let equals = item.firstIndex(of: "=") else { return nil }
            let name = String(item[..<equals])
            guard names.contains(name), values[name] == nil, let value = digits(item[item.index(after: equals)...]) else { return nil }
            values[name] = value
        }
        return values
    }

    private static func digits(_ text: Substring) -> Int? {
        guard (1...7).contains(text.utf8.count), text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return Int(text)
    }

    /// A change cursor's characters (base-36 digits and a dot), nothing to decode.
    private static func cursorText(_ text: Substring) -> String? {
        guard (1...40).contains(text.utf8.count),
              text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || $0 == UInt8(ascii: ".") })
        else { return nil }
        return String(text)
    }

    /// `X-Cache` and `Age` of a read's answer.
    private static func origin<Value>(_ answer: Answer<Value>) -> HTTPFields {
        [.xCache: answer.origin.rawValue, .age: String(answer.ageSeconds)]
    }
}
