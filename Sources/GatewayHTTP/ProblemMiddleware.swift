import CallScope
import GatewayAPI
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OpenAPIRuntime

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Outermost middleware: checks the request against the operation it names (`RequestRules`), bounds request
/// bodies, refuses repeated JSON keys, and turns every error that escapes the generated handlers (malformed JSON,
/// wrong types, unknown fields, bad parameters) into an RFC 9457 problem saying what is wrong and where. Nothing
/// escapes as a bare 500.
///
/// `Accept` is removed before the generated handlers see it: every route answers its own media type whatever
/// `Accept` says (openapi.yaml, "Content negotiation"), since the runtime would otherwise fail the answer after
/// the operation had run, a write included.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBodyBytes: Int
    /// The request's time to answer (`RequestDeadline`), counted again from when a body has been read.
    let deadline: Duration
    /// Operations whose handler reads the body as it arrives, with its own bound: their body is not collected
    /// here, and they see `Accept` (the filter answers CSV when asked).
    let streamedBodyLimits: [String: Int]
    let routes: RouteTable
    /// Names the operation's malformed query parameters, when the runtime could not read them.
    let parameterProblems: @Sendable (_ operationID: String, _ query: [(name: String, value: String)]) -> [(name: String, reason: String)]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        do {
            let route: OpenAPIRoute
            switch RequestRules.operation(method: RequestMethod.of(request).rawValue, path: request.uri.path, query: request.uri.query.map { Substring($0) }, routes: routes) {
            case .success(let found): route = found
            case .failure(let refusal): return problem(refusal, request)
            }
            if request.headers[.accept] != nil, streamedBodyLimits[route.operationID] == nil {
                var head = request.head
                head.headerFields[.accept] = nil
                request = Request(head: head, body: request.body)
            }
            if let refusal = try await checkBody(&request, route: route) { return problem(refusal, request) }
            // The request's time to answer starts once its body is in, as it did before the body was read here:
            // a slow upload does not eat into the SENS calls' time.
            guard route.hasRequestBody else { return try await next(request, context) }
            return try await RequestDeadline.$current.withValue(ContinuousClock.now + deadline) { try await next(request, context) }
        } catch let error as HTTPError {
            switch error.status {
            case .notFound: return problem(.noSuchRoute(method: request.method.rawValue, path: request.uri.path), request)
            case .contentTooLarge: return problem(.tooLarge(limit: maxBodyBytes), request)
            default: return problem(error.status.code, error.body ?? Problems.reasonPhrase(error.status.code), request)
            }
        } catch let error as ServerError where error.underlyingError is AnsweredAsBytes {
            return (error.underlyingError as! AnsweredAsBytes).response
        } catch let error as ServerError where error.operationInput == nil {
            // The runtime could not turn the request into the operation's input: the caller's mistake.
            if let decoding = error.underlyingError as? DecodingError ?? Self.decodingError(in: error), request.method != .get {
                return problem(400, Self.describe(decoding), request)
            }
            if error.httpStatus.code < 500, error.httpStatus.code != 400 {
                return problem(error.httpStatus.code, error.causeDescription, request)
            }
            let query = request.uri.queryParameters.map { (name: String($0.key), value: String($0.value)) }
            let invalid = parameterProblems(error.operationID, query)
            // The runtime's own description names its internal types: say which parameters were sent instead.
            guard !invalid.isEmpty else {
                let names = query.map(\.name).joined(separator: ", ")
                return problem(400, "a parameter could not be read" + (names.isEmpty ? "" : " (sent: \(names))"), request)
            }
            return problem(400, invalid.map { "\($0.name): \($0.reason)" }.joined(separator: "; "), request, invalidParams: invalid)
        } catch let error as ServerError {
            RequestMetadata.logger(or: context.logger).error("handler failed", metadata: ["operation": "\(error.operationID)", "error": "\(error.underlyingError)"])
            return problem(500, "the gateway failed to handle the request", request)
        } catch {
            RequestMetadata.logger(or: context.logger).error("request failed", metadata: ["error": "\(error)"])
            return problem(500, "the gateway failed to handle the request", request)
        }
    }

    /// Reads the body of an operation that takes one, within the bound (a fixed-length body over it is refused
    /// before a byte is read; a chunked one as soon as it passes it), and refuses repeated JSON keys; refuses a
    /// body sent to an operation that takes none.
    private func checkBody(_ request: inout Request, route: OpenAPIRoute) async throws -> RequestRules.Refusal? {
        let declaredLength = request.headers[.contentLength].flatMap { Int($0) }
        let chunked = request.headers[.transferEncoding] != nil
        guard route.hasRequestBody else {
            if (declaredLength ?? 0) > 0 {
                return RequestRules.Refusal(status: 400, detail: "\(route.method) \(route.path) takes no body")
            }
            // A chunked body may still be empty (some clients send one on every DELETE).
            if chunked, (try? await request.collectBody(upTo: 0)) == nil {
                return RequestRules.Refusal(status: 400, detail: "\(route.method) \(route.path) takes no body")
            }
            return nil
        }
        let streamedLimit = streamedBodyLimits[route.operationID]
        let limit = streamedLimit ?? maxBodyBytes
        if let declaredLength, declaredLength > limit { return .tooLarge(limit: limit) }
        let contentTypes = request.headers[values: .contentType]
        guard contentTypes.count <= 1 else {
            return RequestRules.Refusal(status: 400, detail: "Content-Type is given \(contentTypes.count) times")
        }
        guard contentTypes.count == 1 else {
            return RequestRules.Refusal(status: 415, detail: streamedLimit == nil
                ? "the body needs Content-Type: application/json" : "the body needs a Content-Type (application/json, text/csv or text/plain)")
        }
        if let encoding = request.headers[.contentEncoding], encoding.lowercased() != "identity" {
            return RequestRules.Refusal(status: 415, detail: "Content-Encoding \(encoding.prefix(64)) is not accepted: send the body unencoded")
        }
        // The handler reads and bounds it as it arrives.
        if streamedLimit != nil { return nil }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            return .tooLarge(limit: maxBodyBytes)
        }
        if request.headers[.contentType]?.lowercased().contains("json") == true,
            let path = body.withUnsafeReadableBytes({ JSONDuplicateKeys.first(in: $0) }) {
            return RequestRules.Refusal(status: 400, detail: "\(path): the key appears more than once")
        }
        return nil
    }

    private func problem(_ refusal: RequestRules.Refusal, _ request: Request) -> Response {
        var response = problem(refusal.status, refusal.detail, request,
                               invalidParams: refusal.invalidParams.map { ($0.name, $0.reason) })
        if !refusal.allow.isEmpty { response.headers[.allow] = refusal.allow.joined(separator: ", ") }
        return response
    }

    private func problem(_ status: Int, _ detail: String, _ request: Request,
                         invalidParams: [(name: String, reason: String)] = []) -> Response {
        var problem = Problems.make(status: status, detail: detail, invalidParams: invalidParams)
        problem.instance = request.uri.path
        return .problem(problem)
    }

    /// The `DecodingError` behind a request the runtime could not read. The runtime wraps it in its own error
    /// type, which is not public, so the wrapping is looked through by reflection; if the runtime's shape
    /// changes, `GatewayValidationTests.refusesMalformedBodies` fails (its messages name the field).
    static func decodingError(in error: ServerError) -> DecodingError? {
        func search(_ value: Any, depth: Int) -> DecodingError? {
            if let decoding = value as? DecodingError { return decoding }
            guard depth > 0 else { return nil }
            for child in Mirror(reflecting: value).children {
                if let found = search(child.value, depth: depth - 1) { return found }
            }
            return nil
        }
        return search(error.underlyingError, depth: 4)
    }

    /// Where in the body, and what: `phoneNumbers[2]: expected a string`.
    static func describe(_ error: DecodingError) -> String {
        func location(_ path: [any CodingKey]) -> String {
            let text = path.reduce("") { text, key in
                if let index = key.intValue { return text + "[\(index)]" }
                return text.isEmpty ? key.stringValue : text + "." + key.stringValue
            }
            return text.isEmpty ? "the body" : text
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(location(context.codingPath)): expected \(jsonTypeName(type))"
        case .valueNotFound(let type, let context):
            return "\(location(context.codingPath)): expected \(jsonTypeName(type)), found null"
        case .keyNotFound(let key, let context):
            return "\(location(context.codingPath + [key])): is required"
        case .dataCorrupted(let context):
            if context.debugDescription.hasPrefix("Additional properties are disabled") {
                return "\(location(context.codingPath)): unknown field"
            }
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "\(location(context.codingPath)): invalid value"
        @unknown default:
            return "the body does not match the schema"
        }
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        case is [Any].Type: "an array"
        default: type == [String].self ? "an array" : "an object"
        }
    }
}

extension Response {
    /// An `application/problem+json` response.
    static func problem(_ problem: Components.Schemas.Problem) -> Response {
        .problem(problem, status: problem.status)
    }

    /// An `application/problem+json` response of any problem shape, encoded as the generated handlers encode it
    /// (keys sorted, slashes as they are).
    static func problem<Problem: Encodable>(_ problem: Problem, status: Int) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(problem)) ?? Data()
        return Response(status: .init(code: status), headers: [.contentType: "application/problem+json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
