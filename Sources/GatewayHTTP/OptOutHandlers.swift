import GatewayAPI
import Hummingbird
import OptOuts
import SENSCore

/// The opt-out operations once the service is known: generated input → domain call → generated output. The
/// shared responses are spelled through `ReadOutput` and `WriteOutput`; the reads' 200 is passed in, the writes'
/// is written as bytes (`AnsweredAsBytes`).
struct OptOutHandlers {
    let metrics: any GatewayHTTPMetrics
    let answers: OptOutAnswers

    enum Write: String {
        case register, remove

        var verb: String { self == .register ? "registered" : "removed" }
    }

    /// A bulk write: validate every number (refusing the request if any is bad), write, answer with the outcome.
    func write<Output: BulkWriteOutput>(_ write: Write, _ request: Components.Schemas.PhoneNumbersRequest,
                                        in service: OptOutService) async throws(AnsweredAsBytes) -> Output {
        switch APIMapping.validate(request.phoneNumbers) {
        case .failure(.count(let count)):
            APIMapping.audit(write.rawValue, service: service.name, count: count, numbers: [], outcome: "refused: wrong number of items")
            return .badRequest(Problems.badRequest(APIMapping.countProblem(count)))
        case .failure(.invalid(let errors)):
            APIMapping.audit(write.rawValue, service: service.name, count: request.phoneNumbers.count, numbers: [],
                             outcome: "refused: \(errors.count) invalid numbers, nothing sent")
            return .unprocessableContent(Problems.invalidPhoneNumbers(errors, total: request.phoneNumbers.count))
        case .success(let numbers):
            return try await written(write, numbers, in: service)
        }
    }

    /// Writes validated numbers, audits and counts the outcome, and answers with it: a failure in the generated
    /// types, the 200 (`RegisterResult`, `RemoveResult`) as bytes, which can hold 10,000 records.
    func written<Output: WriteOutput>(_ write: Write, _ numbers: [PhoneNumber], in service: OptOutService) async throws(AnsweredAsBytes) -> Output {
        let outcome = await perform(write, numbers, in: service)
        guard outcome.failure == nil else { return .failure(outcome, verb: write.verb) }
        throw AnsweredAsBytes(response: answer(write, outcome))
    }

    /// Writes validated numbers; audits and counts the outcome.
    func perform(_ write: Write, _ numbers: [PhoneNumber], in service: OptOutService) async -> WriteOutcome {
        let outcome = write == .register ? await service.directory.register(numbers) : await service.directory.remove(numbers)
        metrics.recordWritten(service: service.name, operation: write.rawValue, count: outcome.done.count)
        let distinct = outcome.done + outcome.unconfirmed + outcome.notSent
        APIMapping.audit(write.rawValue, service: service.name, count: distinct.count, numbers: distinct, outcome: outcome.failure.map {
            "failed (\($0.httpStatus)): \(outcome.done.count) done, \(outcome.unconfirmed.count) unconfirmed, \(outcome.notSent.count) not sent"
        } ?? "ok: \(outcome.done.count) done")
        return outcome
    }

    /// A write's answer: the 200 as bytes, or the failure as `WriteOutput.failure` spells it.
    func answer(_ write: Write, _ outcome: WriteOutcome) -> Response {
        guard let error = outcome.failure else {
            return .json(write == .register ? answers.registered(outcome) : answers.removed(outcome))
        }
        var response = Response.problem(Problems.partialWrite(outcome, verb: write.verb), status: error.httpStatus)
        response.setRetryAfter(for: error)
        return response
    }

    /// Removes the one number of a path, which is refused with 400 when it is not a number.
    func removeOne<Output: WriteOutput>(_ text: String, in service: OptOutService) async throws(AnsweredAsBytes) -> Output {
        let number: PhoneNumber
        do { number = try PhoneNumber.parse(text) } catch {
            APIMapping.audit("remove", service: service.name, count: 1, numbers: [], outcome: "refused: invalid number, nothing sent")
            return .badRequest(Problems.badParameter("phoneNumber", error.reason))
        }
        return try await written(.remove, [number], in: service)
    }

    func list<Output: ReadOutput>(_ query: Result<OptOutQuery, APIMapping.ParameterRefusal>, cacheControl: String?,
                                  in service: OptOutService, ok: (Answer<[OptOut]>, OptOutQuery) -> Output) async -> Output {
        let valid: OptOutQuery
        switch query {
        case .failure(let refusal): return .badRequest(refusal.response)
        case .success(let value): valid = value
        }
        do {
            return ok(try await service.directory.list(valid, refresh: APIMapping.refresh(cacheControl)), valid)
        } catch {
            return .failure(error)
        }
    }

    func check<Output: ReadOutput>(_ text: String, cacheControl: String?, in service: OptOutService,
                                   ok: (Answer<OptOut?>, PhoneNumber) -> Output) async -> Output {
        let number: PhoneNumber
        do { number = try PhoneNumber.parse(text) } catch { return .badRequest(Problems.badParameter("phoneNumber", error.reason)) }
        do {
            return ok(try await service.directory.check(number, refresh: APIMapping.refresh(cacheControl)), number)
        } catch {
            return .failure(error)
        }
    }
}

/// The generated outputs of the reads: they share the responses for a bad request and for the source's failures.
/// Their enum cases are the witnesses, so each output only declares the conformance.
protocol ReadOutput {
    static func badRequest(_ response: Components.Responses.BadRequest) -> Self
    static func tooManyRequests(_ response: Components.Responses.Throttled) -> Self
    static func badGateway(_ response: Components.Responses.BadGateway) -> Self
    static func serviceUnavailable(_ response: Components.Responses.Unavailable) -> Self
    static func gatewayTimeout(_ response: Components.Responses.Timeout) -> Self
}

/// The same for the writes, whose failures list what became of each number.
protocol WriteOutput {
    static func badRequest(_ response: Components.Responses.BadRequest) -> Self
    static func tooManyRequests(_ response: Components.Responses.WriteThrottled) -> Self
    static func badGateway(_ response: Components.Responses.WriteBadGateway) -> Self
    static func serviceUnavailable(_ response: Components.Responses.WriteUnavailable) -> Self
    static func gatewayTimeout(_ response: Components.Responses.WriteTimeout) -> Self
}

/// The writes with a body of numbers, which can also be refused item by item.
protocol BulkWriteOutput: WriteOutput {
    static func unprocessableContent(_ response: Components.Responses.InvalidPhoneNumbers) -> Self
}

extension ReadOutput {
    /// The answer to a read the source could not answer.
    static func failure(_ error: OptOutError) -> Self {
        let problem = Problems.upstream(error)
        switch error.kind {
        case .throttled: return .tooManyRequests(.init(headers: .init(retryAfter: error.throttledRetryAfter), body: .applicationProblemJson(problem)))
        case .unavailable: return .serviceUnavailable(.init(headers: .init(retryAfter: error.retryAfterSeconds), body: .applicationProblemJson(problem)))
        case .timedOut: return .gatewayTimeout(.init(body: .applicationProblemJson(problem)))
        case .refused, .credentialsRefused, .failed: return .badGateway(.init(body: .applicationProblemJson(problem)))
        }
    }
}

extension WriteOutput {
    /// The answer to a write that failed part of the way.
    static func failure(_ outcome: WriteOutcome, verb: String) -> Self {
        let error = outcome.failure!
        let problem = Problems.partialWrite(outcome, verb: verb)
        switch error.kind {
        case .throttled: return .tooManyRequests(.init(headers: .init(retryAfter: error.throttledRetryAfter), body: .applicationProblemJson(problem)))
        case .unavailable: return .serviceUnavailable(.init(headers: .init(retryAfter: error.retryAfterSeconds), body: .applicationProblemJson(problem)))
        case .timedOut: return .gatewayTimeout(.init(body: .applicationProblemJson(problem)))
        case .refused, .credentialsRefused, .failed: return .badGateway(.init(body: .applicationProblemJson(problem)))
        }
    }
}

extension Operations.ListOptOuts.Output: ReadOutput {}
extension Operations.CheckOptOut.Output: ReadOutput {}
extension Operations.ListServiceOptOuts.Output: ReadOutput {}
extension Operations.CheckServiceOptOut.Output: ReadOutput {}
extension Operations.RegisterOptOuts.Output: BulkWriteOutput {}
extension Operations.RemoveOptOuts.Output: BulkWriteOutput {}
extension Operations.RemoveOptOut.Output: WriteOutput {}
extension Operations.RegisterServiceOptOuts.Output: BulkWriteOutput {}
extension Operations.RemoveServiceOptOuts.Output: BulkWriteOutput {}
extension Operations.RemoveServiceOptOut.Output: WriteOutput {}

/// What the HTTP layer reports: requests by route template, and numbers written by service.
public protocol GatewayHTTPMetrics: Sendable {
    /// `route` is the matched route template (never the raw path, which may hold a phone number).
    func recordRequest(route: String, method: String, status: Int, duration: Duration)
    /// Numbers the source confirmed registered or removed.
    func recordWritten(service: String, operation: String, count: Int)
    /// The Prometheus text exposition of every metric.
    func exposition() -> String
}
