import GatewayAPI
import OptOuts
import SENSCore

/// The opt-out operations once the service is known: generated input → domain call → generated output. Each
/// operation's output type spells the shared responses its own way, so the callers pass those spellings in.
struct OptOutHandlers {
    let metrics: any GatewayHTTPMetrics

    /// How one read operation's output type spells the failures of its source.
    struct ReadFailures<Output> {
        let throttled: (Components.Responses.Throttled) -> Output
        let badGateway: (Components.Responses.BadGateway) -> Output
        let unavailable: (Components.Responses.Unavailable) -> Output
        let timeout: (Components.Responses.Timeout) -> Output

        func callAsFunction(_ error: OptOutError) -> Output {
            let problem = Problems.upstream(error)
            switch error.kind {
            case .throttled: return throttled(.init(headers: .init(retryAfter: error.throttledRetryAfter), body: .applicationProblemJson(problem)))
            case .unavailable: return unavailable(.init(headers: .init(retryAfter: error.retryAfterSeconds), body: .applicationProblemJson(problem)))
            case .timedOut: return timeout(.init(body: .applicationProblemJson(problem)))
            case .refused, .credentialsRefused, .failed: return badGateway(.init(body: .applicationProblemJson(problem)))
            }
        }
    }

    /// How one write operation's output type spells the failures of its source.
    struct WriteFailures<Output> {
        let throttled: (Components.Responses.WriteThrottled) -> Output
        let badGateway: (Components.Responses.WriteBadGateway) -> Output
        let unavailable: (Components.Responses.WriteUnavailable) -> Output
        let timeout: (Components.Responses.WriteTimeout) -> Output

        func callAsFunction(_ outcome: WriteOutcome, verb: String) -> Output {
            let error = outcome.failure!
            let problem = Problems.partialWrite(outcome, verb: verb)
            switch error.kind {
            case .throttled: return throttled(.init(headers: .init(retryAfter: error.throttledRetryAfter), body: .applicationProblemJson(problem)))
            case .unavailable: return unavailable(.init(headers: .init(retryAfter: error.retryAfterSeconds), body: .applicationProblemJson(problem)))
            case .timedOut: return timeout(.init(body: .applicationProblemJson(problem)))
            case .refused, .credentialsRefused, .failed: return badGateway(.init(body: .applicationProblemJson(problem)))
            }
        }
    }

    /// How one bulk write operation's output type spells the refusals of its request.
    struct WriteRefusals<Output> {
        let badRequest: (Components.Responses.BadRequest) -> Output
        let invalid: (Components.Responses.InvalidPhoneNumbers) -> Output
    }

    enum Write: String {
        case register, remove

        var verb: String { self == .register ? "registered" : "removed" }
    }

    /// A bulk write: validate every number (refusing the request if any is bad), write, answer with the outcome.
    func write<Output>(_ write: Write, _ request: Components.Schemas.PhoneNumbersRequest, in service: OptOutService,
                       ok: (WriteOutcome) -> Output, refusals: WriteRefusals<Output>, failures: WriteFailures<Output>) async -> Output {
        switch APIMapping.validate(request.phoneNumbers) {
        case .failure(.count(let count)):
            APIMapping.audit(write.rawValue, service: service.name, count: count, numbers: [], outcome: "refused: wrong number of items")
            return refusals.badRequest(Problems.badRequest(APIMapping.countProblem(count)))
        case .failure(.invalid(let errors)):
            APIMapping.audit(write.rawValue, service: service.name, count: request.phoneNumbers.count, numbers: [],
                             outcome: "refused: \(errors.count) invalid numbers, nothing sent")
            return refusals.invalid(Problems.invalidPhoneNumbers(errors, total: request.phoneNumbers.count))
        case .success(let numbers):
            return await written(write, numbers, in: service, ok: ok, failures: failures)
        }
    }

    /// Writes validated numbers, audits and counts the outcome, and answers with it.
    func written<Output>(_ write: Write, _ numbers: [PhoneNumber], in service: OptOutService, ok: (WriteOutcome) -> Output,
                         failures: WriteFailures<Output>) async -> Output {
        let outcome = write == .register ? await service.directory.register(numbers) : await service.directory.remove(numbers)
        metrics.recordWritten(service: service.name, operation: write.rawValue, count: outcome.done.count)
        let distinct = outcome.done + outcome.unconfirmed + outcome.notSent
        APIMapping.audit(write.rawValue, service: service.name, count: distinct.count, numbers: distinct, outcome: outcome.failure.map {
            "failed (\($0.httpStatus)): \(outcome.done.count) done, \(outcome.unconfirmed.count) unconfirmed, \(outcome.notSent.count) not sent"
        } ?? "ok: \(outcome.done.count) done")
        return outcome.failure == nil ? ok(outcome) : failures(outcome, verb: write.verb)
    }

    /// Removes the one number of a path, which is refused with 400 when it is not a number.
    func removeOne<Output>(_ text: String, in service: OptOutService, ok: (WriteOutcome) -> Output,
                           badRequest: (Components.Responses.BadRequest) -> Output, failures: WriteFailures<Output>) async -> Output {
        let number: PhoneNumber
        do { number = try PhoneNumber.parse(text) } catch {
            APIMapping.audit("remove", service: service.name, count: 1, numbers: [], outcome: "refused: invalid number, nothing sent")
            return badRequest(Problems.badParameter("phoneNumber", error.reason))
        }
        return await written(.remove, [number], in: service, ok: ok, failures: failures)
    }

    func list<Output>(_ query: Result<OptOutQuery, APIMapping.ParameterRefusal>, cacheControl: String?, in service: OptOutService,
                      ok: (Answer<[OptOut]>, OptOutQuery) -> Output, badRequest: (Components.Responses.BadRequest) -> Output,
                      failures: ReadFailures<Output>) async -> Output {
        let valid: OptOutQuery
        switch query {
        case .failure(let refusal): return badRequest(refusal.response)
        case .success(let value): valid = value
        }
        do {
            return ok(try await service.directory.list(valid, refresh: APIMapping.refresh(cacheControl)), valid)
        } catch {
            return failures(error)
        }
    }

    func check<Output>(_ text: String, cacheControl: String?, in service: OptOutService,
                       ok: (Answer<OptOut?>, PhoneNumber) -> Output, badRequest: (Components.Responses.BadRequest) -> Output,
                       failures: ReadFailures<Output>) async -> Output {
        let number: PhoneNumber
        do { number = try PhoneNumber.parse(text) } catch { return badRequest(Problems.badParameter("phoneNumber", error.reason)) }
        do {
            return ok(try await service.directory.check(number, refresh: APIMapping.refresh(cacheControl)), number)
        } catch {
            return failures(error)
        }
    }
}

/// The generated outputs that answer a source's failures to a read with the shared responses. Their enum cases
/// are the witnesses, so each output only declares the conformance.
protocol ReadFailureOutput {
    static func tooManyRequests(_ response: Components.Responses.Throttled) -> Self
    static func badGateway(_ response: Components.Responses.BadGateway) -> Self
    static func serviceUnavailable(_ response: Components.Responses.Unavailable) -> Self
    static func gatewayTimeout(_ response: Components.Responses.Timeout) -> Self
}

/// The same for a write's failures, which list what became of each number.
protocol WriteFailureOutput {
    static func tooManyRequests(_ response: Components.Responses.WriteThrottled) -> Self
    static func badGateway(_ response: Components.Responses.WriteBadGateway) -> Self
    static func serviceUnavailable(_ response: Components.Responses.WriteUnavailable) -> Self
    static func gatewayTimeout(_ response: Components.Responses.WriteTimeout) -> Self
}

extension OptOutHandlers.ReadFailures where Output: ReadFailureOutput {
    static var spelled: Self {
        .init(throttled: Output.tooManyRequests, badGateway: Output.badGateway, unavailable: Output.serviceUnavailable,
              timeout: Output.gatewayTimeout)
    }
}

extension OptOutHandlers.WriteFailures where Output: WriteFailureOutput {
    static var spelled: Self {
        .init(throttled: Output.tooManyRequests, badGateway: Output.badGateway, unavailable: Output.serviceUnavailable,
              timeout: Output.gatewayTimeout)
    }
}

extension Operations.ListOptOuts.Output: ReadFailureOutput {}
extension Operations.CheckOptOut.Output: ReadFailureOutput {}
extension Operations.ListServiceOptOuts.Output: ReadFailureOutput {}
extension Operations.CheckServiceOptOut.Output: ReadFailureOutput {}
extension Operations.RegisterOptOuts.Output: WriteFailureOutput {}
extension Operations.RemoveOptOuts.Output: WriteFailureOutput {}
extension Operations.RemoveOptOut.Output: WriteFailureOutput {}
extension Operations.RegisterServiceOptOuts.Output: WriteFailureOutput {}
extension Operations.RemoveServiceOptOuts.Output: WriteFailureOutput {}
extension Operations.RemoveServiceOptOut.Output: WriteFailureOutput {}

/// What the HTTP layer reports: requests by route template, and numbers written by service.
public protocol GatewayHTTPMetrics: Sendable {
    /// `route` is the matched route template (never the raw path, which may hold a phone number).
    func recordRequest(route: String, method: String, status: Int, duration: Duration)
    /// Numbers the source confirmed registered or removed.
    func recordWritten(service: String, operation: String, count: Int)
    /// The Prometheus text exposition of every metric.
    func exposition() -> String
}
