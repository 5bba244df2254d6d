import GatewayAPI
import OptOuts

/// RFC 9457 problem documents, in the generated schema types.
enum Problems {
    static let invalidPhoneNumbersType = "urn:sens-gateway:problem:invalid-phone-numbers"
    static let upstreamType = "urn:sens-gateway:problem:sens-failure"
    static let credentialsType = "urn:sens-gateway:problem:sens-credentials-rejected"
    static let mirrorUnavailableType = "urn:sens-gateway:problem:mirror-unavailable"

    static func make(status: Int, detail: String, type: String = "about:blank", title: String? = nil,
                     invalidParams: [(name: String, reason: String)] = []) -> Components.Schemas.Problem {
        Components.Schemas.Problem(
            _type: type,
            title: title ?? reasonPhrase(status),
            status: status,
            detail: detail,
            invalidParams: invalidParams.isEmpty ? nil : invalidParams.map { .init(name: $0.name, reason: $0.reason) }
        )
    }

    /// 400 for one bad query or path parameter.
    static func badParameter(_ name: String, _ reason: String) -> Components.Responses.BadRequest {
        .init(body: .applicationProblemJson(badParameterProblem(name, reason)))
    }

    static func badParameterProblem(_ name: String, _ reason: String) -> Components.Schemas.Problem {
        make(status: 400, detail: "\(name): \(reason)", invalidParams: [(name, reason)])
    }

    static func badRequest(_ detail: String) -> Components.Responses.BadRequest {
        .init(body: .applicationProblemJson(make(status: 400, detail: detail)))
    }

    static func invalidPhoneNumbers(_ errors: [Components.Schemas.PhoneNumberError], total: Int) -> Components.Responses.InvalidPhoneNumbers {
        let detail = errors.count == 1
            ? "1 of \(total) phone numbers is not acceptable; nothing was sent."
            : "\(errors.count) of \(total) phone numbers are not acceptable; nothing was sent."
        return .init(body: .applicationProblemJson(.init(
            value1: make(status: 422, detail: detail, type: invalidPhoneNumbersType, title: "Invalid phone numbers"),
            value2: .init(errors: errors)
        )))
    }

    static func serviceNotFound(_ name: String, among services: OptOutServices) -> Components.Responses.ServiceNotFound {
        .init(body: .applicationProblemJson(serviceNotFoundProblem(name, among: services)))
    }

    static func serviceNotFoundProblem(_ name: String, among services: OptOutServices) -> Components.Schemas.Problem {
        let names = services.all.map(\.name).joined(separator: ", ")
        let shown = name.count > 64 ? name.prefix(64) + "…" : Substring(name)
        return make(status: 404, detail: "no such service: \(shown); this gateway serves \(names)")
    }

    /// 503: the service's mirror cannot vouch now (`detail` says why), or is turned off.
    static func mirrorUnavailableProblem(_ detail: String) -> Components.Schemas.Problem {
        make(status: 503, detail: detail, type: mirrorUnavailableType, title: "Mirror unavailable")
    }

    static func mirrorUnavailable(_ detail: String, retryAfterSeconds: Int) -> Components.Responses.MirrorUnavailable {
        .init(headers: .init(retryAfter: retryAfterSeconds), body: .applicationProblemJson(mirrorUnavailableProblem(detail)))
    }

    /// The problem for a read that could not be answered.
    static func upstream(_ error: OptOutError) -> Components.Schemas.Problem {
        make(status: error.httpStatus, detail: error.reason, type: error.problemType)
    }

    /// A write's failure, saying which numbers were confirmed, which may or may not have been applied, and which
    /// were not.
    static func partialWrite(_ outcome: WriteOutcome, verb: String) -> Components.Schemas.PartialWriteProblem {
        let error = outcome.failure!
        let total = outcome.done.count + outcome.unconfirmed.count + outcome.notSent.count
        var detail = "\(error.reason). Of \(total) numbers, \(outcome.done.count) were \(verb) (done), "
            + "\(outcome.unconfirmed.count) were sent but the answer was lost, so they may or may not be \(verb) (unconfirmed), "
            + "and \(outcome.notSent.count) were not \(verb) (notSent). "
        detail += error.kind == .credentialsRefused
            ? "Retrying will not help until the gateway's keys are fixed."
            : "Retrying unconfirmed and notSent is safe: the operation is idempotent."
        return .init(value1: make(status: error.httpStatus, detail: detail, type: error.problemType),
                     value2: .init(done: outcome.done, unconfirmed: outcome.unconfirmed, notSent: outcome.notSent))
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "HTTP \(status)"
        }
    }
}

extension OptOutError {
    /// The gateway's status for this failure (openapi.yaml, "Errors").
    var httpStatus: Int {
        switch kind {
        case .refused, .credentialsRefused, .failed: 502
        case .unavailable: 503
        case .timedOut: 504
        case .throttled: 429
        }
    }

    var problemType: String {
        kind == .credentialsRefused ? Problems.credentialsType : Problems.upstreamType
    }

    /// `Retry-After` for a 429: what the source asked for, else one second.
    var throttledRetryAfter: Int { retryAfterSeconds ?? 1 }
}
