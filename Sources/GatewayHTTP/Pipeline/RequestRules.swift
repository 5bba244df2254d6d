import GatewayAPI
import HTTPTypes
import Hummingbird
import SENSCore

/// The one pass every request goes through before an operation runs: it names the operation (404, 405 with
/// `Allow`), decodes the path parameters (none empty, percent-encoding well formed) and the query (only the
/// operation's parameters, each once), and checks the head against the body the operation takes (its media
/// types from `openapi.yaml`, no `Content-Encoding`, a declared length within the bound, no body where none is
/// taken). A request that would otherwise be answered as if it meant something else is refused with a problem
/// that says what is wrong and where.
struct RequestRules: Sendable {
    let routes: RouteTable
    /// The bound of a body collected before the operation runs.
    let maxBodyBytes: Int
    /// The larger bounds of the operations that read their body as it arrives, by operation id.
    let streamedBodyLimits: [String: Int]

    /// What the rules let through.
    struct Admitted {
        let route: OpenAPIRoute
        /// Path parameters, percent-decoded.
        let parameters: [String: String]
        /// Query parameters, percent-decoded (`+` as a space).
        let query: [String: String]
        /// The bound the body is read within.
        let bodyLimit: Int
    }

    struct Refusal: Error, Equatable {
        var status: Int
        var detail: String
        var invalidParams: [Parameter] = []
        /// For 405: the methods the path has.
        var allow: [String] = []

        struct Parameter: Equatable {
            var name: String
            var reason: String
        }

        static func parameter(_ name: String, _ reason: String) -> Refusal {
            Refusal(status: 400, detail: "\(name): \(reason)", invalidParams: [.init(name: name, reason: reason)])
        }

        /// 404 for a path no operation has (a long path is shown cut short).
        static func noSuchRoute(method: String, path: Substring) -> Refusal {
            let shown = path.count > 200 ? path.prefix(200) + "…" : path
            return Refusal(status: 404, detail: "no such route: \(method) \(shown)")
        }

        static func tooLarge(limit: Int) -> Refusal {
            Refusal(status: 413, detail: "the body is larger than \(limit) bytes")
        }
    }

    private static let host = HTTPField.Name("Host")!

    /// The operation `request` names with its parameters, or why it cannot be one.
    func admit(_ request: Request, method: String) -> Result<Admitted, Refusal> {
        let target = request.head.path ?? "/"
        let queryStart = target.utf8.firstIndex(of: UInt8(ascii: "?"))
        let path = target[..<(queryStart ?? target.endIndex)]
        let query = queryStart.map { target[target.index(after: $0)...] }
        // The HTTP/1 codec moves the first Host into the authority; a second one stays a header.
        guard request.head.authority != nil else {
            return .failure(Refusal(status: 400, detail: "the request has no Host header (HTTP/1.1 requires one)"))
        }
        guard request.headers[Self.host] == nil else {
            return .failure(Refusal(status: 400, detail: "the request has more than one Host header"))
        }
        guard !path.utf8.contains(UInt8(ascii: "#")) else {
            return .failure(
                Refusal(status: 400, detail: "the request target holds a fragment ('#'); fragments are not sent")
            )
        }
        guard let (template, rawParameters) = routes.match(path) else {
            return .failure(.noSuchRoute(method: method, path: path))
        }
        guard let route = RouteTable.route(template, method: method) else {
            let allowed = RouteTable.allowed(template)
            return .failure(
                Refusal(
                    status: 405,
                    detail: "\(method) is not allowed on \(path); use \(allowed.joined(separator: ", "))",
                    allow: allowed
                )
            )
        }
        var parameters: [String: String] = [:]
        for (name, raw) in rawParameters {
            if raw.isEmpty { return .failure(.parameter(name, "must not be empty")) }
            guard let value = PercentEncoding.decoded(raw) else {
                return .failure(.parameter(name, "bad percent-encoding"))
            }
            parameters[name] = value
        }
        let decodedQuery: [String: String]
        switch Self.query(query, route: route) {
        case .success(let values): decodedQuery = values
        case .failure(let refusal): return .failure(refusal)
        }
        let limit = streamedBodyLimits[route.operationID] ?? maxBodyBytes
        if let refusal = bodyRefusal(request.headers, route: route, limit: limit) { return .failure(refusal) }
        return .success(Admitted(route: route, parameters: parameters, query: decodedQuery, bodyLimit: limit))
    }

    /// Unknown, repeated or undecodable query parameters; the decoded values otherwise.
    static func query(_ query: Substring?, route: OpenAPIRoute) -> Result<[String: String], Refusal> {
        var values: [String: String] = [:]
        guard let query, !query.isEmpty else { return .success(values) }
        for item in query.split(separator: "&", omittingEmptySubsequences: false) {
            // `?&`, `a=1&&b=2`: an empty item is refused rather than guessed at.
            guard !item.isEmpty else {
                return .failure(Refusal(status: 400, detail: "the query has an empty parameter (a stray '&')"))
            }
            let rawName = item.prefix { $0 != "=" }
            guard let name = PercentEncoding.decoded(rawName, plusIsSpace: true) else {
                return .failure(Refusal(status: 400, detail: "the query has bad percent-encoding: \(item.prefix(64))"))
            }
            guard route.queryParameters.contains(name) else {
                let known =
                    route.queryParameters.isEmpty
                    ? "this operation takes no query parameters"
                    : "this operation takes " + route.queryParameters.joined(separator: ", ")
                return .failure(.parameter(String(name.prefix(64)), "unknown query parameter; \(known)"))
            }
            guard values[name] == nil else { return .failure(.parameter(name, "given more than once")) }
            guard let value = PercentEncoding.decoded(item.dropFirst(rawName.count + 1), plusIsSpace: true) else {
                return .failure(.parameter(name, "bad percent-encoding"))
            }
            values[name] = value
        }
        return .success(values)
    }

    /// What the head says of the body against what the operation takes.
    private func bodyRefusal(_ headers: HTTPFields, route: OpenAPIRoute, limit: Int) -> Refusal? {
        let declaredLength = headers[.contentLength].flatMap { Int($0) }
        if let coding = headers[.transferEncoding], coding.lowercased() != "chunked" {
            return Refusal(
                status: 501,
                detail: "Transfer-Encoding \(coding.prefix(64)) is not supported: send the body with a "
                    + "Content-Length or Transfer-Encoding: chunked alone"
            )
        }
        guard route.hasRequestBody else {
            if (declaredLength ?? 0) > 0 {
                return Refusal(status: 400, detail: "\(route.method) \(route.path) takes no body")
            }
            return nil
        }
        if let declaredLength, declaredLength > limit { return .tooLarge(limit: limit) }
        let contentTypes = headers[values: .contentType]
        guard contentTypes.count <= 1 else {
            return Refusal(status: 400, detail: "Content-Type is given \(contentTypes.count) times")
        }
        let accepted = route.requestMediaTypes.joined(separator: ", ")
        guard let contentType = contentTypes.first else {
            return Refusal(status: 415, detail: "the body needs a Content-Type: \(accepted)")
        }
        guard route.requestMediaTypes.contains(contentType.mediaType) else {
            return Refusal(
                status: 415,
                detail: "Content-Type \(contentType.mediaType.prefix(64)) is not accepted here; send \(accepted)"
            )
        }
        if let encoding = headers[.contentEncoding], encoding.lowercased() != "identity" {
            return Refusal(
                status: 415,
                detail: "Content-Encoding \(encoding.prefix(64)) is not accepted: send the body unencoded"
            )
        }
        return nil
    }
}
