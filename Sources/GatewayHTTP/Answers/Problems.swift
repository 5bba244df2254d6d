import GatewayAPI
import HTTPTypes
import Hummingbird
import NIOCore
import OptOuts

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// RFC 9457 problem documents, in the generated schema types, and the one table from a domain failure
/// (`OptOutError`) to its status, problem type and `Retry-After`.
enum Problems {
    static let invalidPhoneNumbersType = "urn:sens-gateway:problem:invalid-phone-numbers"
    static let upstreamType = "urn:sens-gateway:problem:sens-failure"
    static let credentialsType = "urn:sens-gateway:problem:sens-credentials-rejected"
    static let mirrorUnavailableType = "urn:sens-gateway:problem:mirror-unavailable"
    static let changesPrunedType = "urn:sens-gateway:problem:changes-pruned"

    static func make(
        status: Int,
        detail: String,
        type: String = "about:blank",
        title: String? = nil,
        invalidParams: [(name: String, reason: String)] = []
    ) -> Components.Schemas.Problem {
        Components.Schemas.Problem(
            _type: type,
            title: title ?? reasonPhrase(status),
            status: status,
            detail: detail,
            invalidParams: invalidParams.isEmpty ? nil : invalidParams.map { .init(name: $0.name, reason: $0.reason) }
        )
    }

    static func invalidPhoneNumbers(
        _ errors: [Components.Schemas.PhoneNumberError],
        total: Int
    )
        -> Components.Schemas.InvalidPhoneNumbersProblem
    {
        let detail =
            errors.count == 1
            ? "1 of \(total) phone numbers is not acceptable; nothing was sent."
            : "\(errors.count) of \(total) phone numbers are not acceptable; nothing was sent."
        return .init(
            value1: make(status: 422, detail: detail, type: invalidPhoneNumbersType, title: "Invalid phone numbers"),
            value2: .init(errors: errors)
        )
    }

    static func serviceNotFoundProblem(_ name: String, among services: OptOutServices) -> Components.Schemas.Problem {
        let names = services.all.map(\.name).joined(separator: ", ")
        let shown = name.count > 64 ? name.prefix(64) + "…" : Substring(name)
        return make(status: 404, detail: "no such service: \(shown); this gateway serves \(names)")
    }

    /// 503: the service's mirror cannot vouch now (`detail` says why), or is turned off.
    static func mirrorUnavailable(_ detail: String, retryAfterSeconds: Int, instance: String) -> Response {
        var problem = make(status: 503, detail: detail, type: mirrorUnavailableType, title: "Mirror unavailable")
        problem.instance = instance
        var response = Response.problem(problem)
        response.headers[.retryAfter] = String(retryAfterSeconds)
        return response
    }

    /// The answer to a read the source could not answer.
    static func readFailure(_ error: OptOutError) -> Response {
        let answer = error.answer
        var response = Response.problem(
            make(status: answer.status, detail: error.reason, type: answer.type),
            status: answer.status
        )
        if let retryAfter = answer.retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    /// A write's failure, saying which numbers were confirmed, which may or may not have been applied, and which
    /// were not.
    static func partialWrite(_ outcome: WriteOutcome, error: OptOutError, verb: String) -> Response {
        let answer = error.answer
        let total = outcome.done.count + outcome.unconfirmed.count + outcome.notSent.count
        var detail =
            "\(error.reason). Of \(total) numbers, \(outcome.done.count) were \(verb) (done), "
            + "\(outcome.unconfirmed.count) were sent but the answer was lost, so they may or may not be \(verb) (unconfirmed), "
            + "and \(outcome.notSent.count) were not \(verb) (notSent). "
        detail +=
            error.kind == .credentialsRefused
            ? "Retrying will not help until the gateway's keys are fixed."
            : "Retrying unconfirmed and notSent is safe: the operation is idempotent."
        if let note = outcome.mirrorNote { detail += " What was done: \(note)." }
        let problem = Components.Schemas.PartialWriteProblem(
            value1: make(status: answer.status, detail: detail, type: answer.type),
            value2: .init(done: outcome.done, unconfirmed: outcome.unconfirmed, notSent: outcome.notSent)
        )
        var response = Response.problem(problem, status: answer.status)
        if let retryAfter = answer.retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "HTTP \(status)"
        }
    }
}

extension OptOutError {
    /// The one table from a failure to its answer (openapi.yaml, "Errors"): the status, the problem type, and
    /// `Retry-After` (always for 429, what the source asked for or one second; for 503 when known).
    var answer: (status: Int, type: String, retryAfter: Int?) {
        switch kind {
        case .credentialsRefused: (502, Problems.credentialsType, nil)
        case .refused, .failed: (502, Problems.upstreamType, nil)
        case .unavailable: (503, Problems.upstreamType, retryAfterSeconds)
        case .timedOut: (504, Problems.upstreamType, nil)
        case .throttled: (429, Problems.upstreamType, retryAfterSeconds ?? 1)
        }
    }
}

extension Response {
    /// An `application/problem+json` response.
    static func problem(_ problem: Components.Schemas.Problem) -> Response {
        .problem(problem, status: problem.status)
    }

    /// An `application/problem+json` response of any problem shape (keys sorted, slashes as they are).
    static func problem<Problem: Encodable>(_ problem: Problem, status: Int) -> Response {
        Response(
            status: .init(code: status),
            headers: [.contentType: "application/problem+json; charset=utf-8"],
            body: .init(byteBuffer: JSONAnswer.encode(problem, utcOffsetSeconds: 0))
        )
    }
}
