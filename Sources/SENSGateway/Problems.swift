import GatewayAPI
import SENSCore

/// RFC 9457 problem documents, in the generated schema types.
enum Problems {
    static let invalidPhoneNumbersType = "urn:sens-gateway:problem:invalid-phone-numbers"
    static let upstreamType = "urn:sens-gateway:problem:sens-failure"
    static let credentialsType = "urn:sens-gateway:problem:sens-credentials-rejected"

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
        .init(body: .applicationProblemJson(make(status: 400, detail: "\(name): \(reason)", invalidParams: [(name, reason)])))
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

    static func upstream(_ error: SENSError) -> Components.Schemas.Problem {
        make(status: error.httpStatus, detail: error.detail, type: error.problemType)
    }

    /// A write's failure, saying which numbers SENS confirmed, which it may or may not have applied, and which
    /// it has not.
    static func partialWrite(_ outcome: WriteOutcome, verb: String) -> Components.Schemas.PartialWriteProblem {
        let error = outcome.failure!
        let total = outcome.done.count + outcome.unconfirmed.count + outcome.notSent.count
        var detail = "\(error.detail). Of \(total) numbers, \(outcome.done.count) were \(verb) (done), "
            + "\(outcome.unconfirmed.count) were sent but SENS's answer was lost, so they may or may not be \(verb) (unconfirmed), "
            + "and \(outcome.notSent.count) were not \(verb) (notSent). "
        detail += error.isCredentialRefusal
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

extension SENSError {
    /// The gateway's status for this upstream failure (see DESIGN.md).
    var httpStatus: Int {
        switch self {
        case .refused, .failed, .invalidResponse: 502
        case .unavailable, .unreachable, .circuitOpen, .overloaded: 503
        case .timedOut: 504
        case .throttled: 429
        }
    }

    /// The gateway's own words for the failure; nothing from the upstream body.
    var detail: String {
        switch self {
        case .refused(let status) where status == 401 || status == 403:
            "SENS refused the gateway's credentials (\(status)): its NCP keys, their permissions or its clock need attention; retrying will not help"
        case .refused(404): "SENS does not know the gateway's configured service id (404)"
        case .refused(let status): "SENS refused the call (\(status))"
        case .throttled(let seconds): "SENS is throttling the gateway; retry after \(seconds ?? 1) s"
        case .unavailable(let reason): "SENS is unavailable (\(reason))"
        case .unreachable(let reason): "SENS is unreachable (\(reason))"
        case .failed(let status): "SENS failed (\(status))"
        case .invalidResponse(let reason): "SENS answered something unreadable (\(reason))"
        case .timedOut(.attempt(let milliseconds)): "SENS did not answer within \(milliseconds) ms"
        case .timedOut(.deadline): "the request's deadline passed before SENS answered"
        case .timedOut(.upstream): "SENS reported a timeout (504)"
        case .circuitOpen(let seconds): "SENS has been failing, so the gateway is not calling it for \(seconds) s (circuit open)"
        case .overloaded: "too many SENS calls are under way; try again shortly"
        }
    }

    var problemType: String {
        isCredentialRefusal ? Problems.credentialsType : Problems.upstreamType
    }

    var retryAfterSeconds: Int {
        switch self {
        case .throttled(let seconds): seconds ?? 1
        case .circuitOpen(let seconds): seconds
        default: 1
        }
    }

    /// `Retry-After` for a 503: when the gateway itself knows when to come back.
    var unavailableRetryAfter: Int? {
        switch self {
        case .circuitOpen, .overloaded: retryAfterSeconds
        default: nil
        }
    }
}
