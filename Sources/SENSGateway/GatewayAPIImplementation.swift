import GatewayAPI
import Logging
import OpenAPIRuntime
import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The gateway's operations, as declared in `openapi.yaml`. Every documented outcome is returned as its typed
/// case; nothing a caller can cause is thrown.
struct GatewayAPIImplementation: APIProtocol {
    let optOuts: OptOutService
    let readiness: any ReadinessProbe
    let metrics: GatewayMetrics

    static let maxPhoneNumbers = 10_000

    // MARK: Writes

    func registerOptOuts(_ input: Operations.RegisterOptOuts.Input) async throws -> Operations.RegisterOptOuts.Output {
        // JSON is the only body case: the runtime answers 415 for any other content type before this runs.
        switch input.body {
        case .json(let request):
            await write(
                request, perform: optOuts.register, operation: "register", verb: "registered",
                ok: { outcome in .ok(.init(body: .json(.init(registered: outcome.records.map(Self.optOut), count: outcome.done.count)))) },
                refusals: .init(badRequest: { .badRequest($0) }, invalid: { .unprocessableContent($0) }),
                failures: .init(throttled: { .tooManyRequests($0) }, badGateway: { .badGateway($0) },
                                unavailable: { .serviceUnavailable($0) }, timeout: { .gatewayTimeout($0) })
            )
        }
    }

    func removeOptOuts(_ input: Operations.RemoveOptOuts.Input) async throws -> Operations.RemoveOptOuts.Output {
        // JSON is the only body case: the runtime answers 415 for any other content type before this runs.
        switch input.body {
        case .json(let request):
            await write(
                request, perform: optOuts.remove, operation: "remove", verb: "removed",
                ok: { outcome in .ok(.init(body: .json(.init(removed: outcome.done, count: outcome.done.count)))) },
                refusals: .init(badRequest: { .badRequest($0) }, invalid: { .unprocessableContent($0) }),
                failures: .init(throttled: { .tooManyRequests($0) }, badGateway: { .badGateway($0) },
                                unavailable: { .serviceUnavailable($0) }, timeout: { .gatewayTimeout($0) })
            )
        }
    }

    /// The shared write path: validate every number (refusing the request if any is bad), write, and answer
    /// with the outcome or with which numbers were and were not written.
    private func write<Output>(
        _ request: Components.Schemas.PhoneNumbersRequest,
        perform: ([PhoneNumber]) async -> WriteOutcome,
        operation: String,
        verb: String,
        ok: (WriteOutcome) -> Output,
        refusals: WriteRefusals<Output>,
        failures: WriteFailures<Output>
    ) async -> Output {
        switch Self.validate(request.phoneNumbers) {
        case .failure(.count(let count)):
            Self.audit(operation, count: count, numbers: [], outcome: "refused: wrong number of items")
            return refusals.badRequest(Problems.badRequest(Self.countProblem(count)))
        case .failure(.invalid(let errors)):
            Self.audit(operation, count: request.phoneNumbers.count, numbers: [],
                       outcome: "refused: \(errors.count) invalid numbers, nothing sent")
            return refusals.invalid(Problems.invalidPhoneNumbers(errors, total: request.phoneNumbers.count))
        case .success(let numbers):
            return await written(numbers, perform: perform, operation: operation, verb: verb, ok: ok, failures: failures)
        }
    }

    /// Writes validated numbers, audits and counts the outcome, and answers with it.
    private func written<Output>(
        _ numbers: [PhoneNumber],
        perform: ([PhoneNumber]) async -> WriteOutcome,
        operation: String,
        verb: String,
        ok: (WriteOutcome) -> Output,
        failures: WriteFailures<Output>
    ) async -> Output {
        let outcome = await perform(numbers)
        metrics.recordWritten(operation: operation, count: outcome.done.count)
        let distinct = outcome.done + outcome.unconfirmed + outcome.notSent
        Self.audit(operation, count: distinct.count, numbers: distinct, outcome: outcome.failure.map {
            "failed (\($0.httpStatus)): \(outcome.done.count) done, \(outcome.unconfirmed.count) unconfirmed, \(outcome.notSent.count) not sent"
        } ?? "ok: \(outcome.done.count) done")
        guard let error = outcome.failure else { return ok(outcome) }
        let problem = Problems.partialWrite(outcome, verb: verb)
        switch error.httpStatus {
        case 429: return failures.throttled(.init(headers: .init(retryAfter: error.retryAfterSeconds), body: .applicationProblemJson(problem)))
        case 503: return failures.unavailable(.init(headers: .init(retryAfter: error.unavailableRetryAfter), body: .applicationProblemJson(problem)))
        case 504: return failures.timeout(.init(body: .applicationProblemJson(problem)))
        default: return failures.badGateway(.init(body: .applicationProblemJson(problem)))
        }
    }

    func removeOptOut(_ input: Operations.RemoveOptOut.Input) async throws -> Operations.RemoveOptOut.Output {
        let number: PhoneNumber
        do { number = try PhoneNumber.parse(input.path.phoneNumber) } catch {
            Self.audit("remove", count: 1, numbers: [], outcome: "refused: invalid number, nothing sent")
            return .badRequest(Problems.badParameter("phoneNumber", error.reason))
        }
        return await written(
            [number], perform: optOuts.remove, operation: "remove", verb: "removed",
            ok: { outcome in .ok(.init(body: .json(.init(removed: outcome.done, count: outcome.done.count)))) },
            failures: .init(throttled: { .tooManyRequests($0) }, badGateway: { .badGateway($0) },
                            unavailable: { .serviceUnavailable($0) }, timeout: { .gatewayTimeout($0) })
        )
    }

    /// How one write operation's output type spells the refusals of its request.
    struct WriteRefusals<Output> {
        let badRequest: (Components.Responses.BadRequest) -> Output
        let invalid: (Components.Responses.InvalidPhoneNumbers) -> Output
    }

    /// How one write operation's output type spells SENS's failures.
    struct WriteFailures<Output> {
        let throttled: (Components.Responses.WriteThrottled) -> Output
        let badGateway: (Components.Responses.WriteBadGateway) -> Output
        let unavailable: (Components.Responses.WriteUnavailable) -> Output
        let timeout: (Components.Responses.WriteTimeout) -> Output
    }

    // MARK: Reads

    func listOptOuts(_ input: Operations.ListOptOuts.Input) async throws -> Operations.ListOptOuts.Output {
        let query = input.query
        let page = query.page ?? 0
        let pageSize = query.pageSize ?? SENSLimits.defaultPageSize
        guard (0...1_000_000).contains(page) else { return .badRequest(Problems.badParameter("page", "must be from 0 to 1000000")) }
        guard SENSLimits.pageSizeRange.contains(pageSize) else { return .badRequest(Problems.badParameter("pageSize", "must be from 1 to 100")) }
        var number: PhoneNumber?
        if let text = query.phoneNumber {
            do { number = try PhoneNumber.parse(text) } catch { return .badRequest(Problems.badParameter("phoneNumber", error.reason)) }
        }
        let from = query.from?.epochMilliseconds, to = query.to?.epochMilliseconds
        if let from, from < 0 { return .badRequest(Problems.badParameter("from", "must not be before 1970")) }
        if let from, let to, from > to { return .badRequest(Problems.badParameter("to", "must not be before from")) }
        let sensQuery = SENSListQuery(clientTelNo: number?.digits, pageSize: pageSize, pageIndex: page,
                                      startTime: from, endTime: to.map { max($0, 0) })
        do {
            let answer = try await optOuts.list(sensQuery, refresh: Self.refresh(input.headers.cacheControl))
            return .ok(.init(
                headers: .init(xCache: Self.xCache(answer.status), age: answer.ageSeconds),
                body: .json(.init(
                    items: answer.value.map(Self.optOut),
                    page: page,
                    pageSize: pageSize,
                    nextPage: answer.value.count >= pageSize ? page + 1 : nil
                ))
            ))
        } catch {
            return Self.readFailure(error, throttled: { .tooManyRequests($0) }, badGateway: { .badGateway($0) },
                                    unavailable: { .serviceUnavailable($0) }, timeout: { .gatewayTimeout($0) })
        }
    }

    func checkOptOut(_ input: Operations.CheckOptOut.Input) async throws -> Operations.CheckOptOut.Output {
        let number: PhoneNumber
        do { number = try PhoneNumber.parse(input.path.phoneNumber) } catch {
            return .badRequest(Problems.badParameter("phoneNumber", error.reason))
        }
        do {
            let answer = try await optOuts.check(number, refresh: Self.refresh(input.headers.cacheControl))
            let headers = Operations.CheckOptOut.Output.Ok.Headers(xCache: Self.xCache(answer.status), age: answer.ageSeconds)
            guard let record = answer.value else {
                return .ok(.init(headers: headers, body: .json(.init(phoneNumber: number.digits, optedOut: false))))
            }
            let optOut = Self.optOut(record)
            return .ok(.init(headers: headers, body: .json(.init(
                phoneNumber: number.digits, optedOut: true, registeredAt: optOut.registeredAt, source: optOut.source))))
        } catch {
            return Self.readFailure(error, throttled: { .tooManyRequests($0) }, badGateway: { .badGateway($0) },
                                    unavailable: { .serviceUnavailable($0) }, timeout: { .gatewayTimeout($0) })
        }
    }

    // MARK: Operations

    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        .ok(.init(body: .json(.init(status: .ok))))
    }

    func getReadiness(_ input: Operations.GetReadiness.Input) async throws -> Operations.GetReadiness.Output {
        guard let notReady = readiness.notReady() else { return .ok(.init(body: .json(.init(status: .ready)))) }
        return .serviceUnavailable(.init(body: .json(.init(status: .notReady, reason: .init(rawValue: notReady.reason), detail: notReady.detail))))
    }

    func getMetrics(_ input: Operations.GetMetrics.Input) async throws -> Operations.GetMetrics.Output {
        .ok(.init(body: .plainText(HTTPBody(metrics.exposition()))))
    }

    func getOpenAPIDocument(_ input: Operations.GetOpenAPIDocument.Input) async throws -> Operations.GetOpenAPIDocument.Output {
        .ok(.init(body: .yaml(HTTPBody(EmbeddedOpenAPIDocument.text))))
    }

    // MARK: Helpers

    enum ValidationFailure: Error {
        case count(Int)
        case invalid([Components.Schemas.PhoneNumberError])
    }

    /// Parses every input; any invalid one fails the whole request, listing each bad item.
    static func validate(_ inputs: [String]) -> Result<[PhoneNumber], ValidationFailure> {
        guard (1...maxPhoneNumbers).contains(inputs.count) else { return .failure(.count(inputs.count)) }
        var numbers: [PhoneNumber] = []
        var errors: [Components.Schemas.PhoneNumberError] = []
        numbers.reserveCapacity(inputs.count)
        for (index, input) in inputs.enumerated() {
            do {
                numbers.append(try PhoneNumber.parse(input))
            } catch {
                let echoed = input.count > PhoneNumber.maxInputCharacters ? input.prefix(PhoneNumber.maxInputCharacters) + "…" : input
                errors.append(.init(index: index, input: echoed, code: .init(rawValue: error.code) ?? .notAllocated, reason: error.reason))
            }
        }
        return errors.isEmpty ? .success(numbers) : .failure(.invalid(errors))
    }

    /// One audit line per register or remove: request id, caller, how many numbers, the numbers masked (the
    /// first 100), and the outcome.
    static func audit(_ operation: String, count: Int, numbers: [String], outcome: String) {
        guard let request = RequestMetadata.current else { return }
        var masked = numbers.prefix(100).map { PhoneNumber.mask($0) }.joined(separator: ",")
        if numbers.count > 100 { masked += ",+\(numbers.count - 100) more" }
        request.logger.notice("audit", metadata: [
            "audit.action": .string(operation), "audit.caller": .string(request.caller),
            "audit.count": .stringConvertible(count), "audit.numbers": .string(masked), "audit.outcome": .string(outcome),
        ])
    }

    /// Which of an operation's typed query parameters cannot be read, and why (the runtime does not say).
    static func parameterProblems(operationID: String, query: [(name: String, value: String)]) -> [(name: String, reason: String)] {
        guard operationID == "listOptOuts" else { return [] }
        return query.compactMap { item in
            switch item.name {
            case "page", "pageSize":
                return Int(item.value) == nil ? (item.name, "must be an integer") : nil
            case "from", "to":
                return RFC3339DateTranscoder.parse(item.value) == nil
                    ? (item.name, "must be an RFC 3339 date-time, like 2025-11-26T10:11:59+09:00") : nil
            default:
                return nil
            }
        }
    }

    /// `Cache-Control: no-cache` (among other directives, any case) asks for a fresh answer.
    static func refresh(_ cacheControl: String?) -> Bool {
        cacheControl?.split(separator: ",").contains { $0.filter { $0 != " " && $0 != "\t" }.lowercased() == "no-cache" } ?? false
    }

    static func xCache(_ status: CacheStatus) -> Components.Headers.XCache {
        switch status {
        case .hit: .hit
        case .miss: .miss
        case .stale: .stale
        }
    }

    static func countProblem(_ count: Int) -> String {
        "phoneNumbers must hold 1 to \(maxPhoneNumbers) items, not \(count)"
    }

    /// The API shape of one opt-out.
    static func optOut(_ record: OptOutRecord) -> Components.Schemas.OptOut {
        .init(phoneNumber: record.phoneNumber, registeredAt: Date(epochMilliseconds: record.registeredAtMilliseconds),
              source: record.source == .ars ? .ars : .manual)
    }

    static func readFailure<Output>(
        _ error: SENSError,
        throttled: (Components.Responses.Throttled) -> Output,
        badGateway: (Components.Responses.BadGateway) -> Output,
        unavailable: (Components.Responses.Unavailable) -> Output,
        timeout: (Components.Responses.Timeout) -> Output
    ) -> Output {
        let problem = Problems.upstream(error)
        switch error.httpStatus {
        case 429: return throttled(.init(headers: .init(retryAfter: error.retryAfterSeconds), body: .applicationProblemJson(problem)))
        case 503: return unavailable(.init(headers: .init(retryAfter: error.unavailableRetryAfter), body: .applicationProblemJson(problem)))
        case 504: return timeout(.init(body: .applicationProblemJson(problem)))
        default: return badGateway(.init(body: .applicationProblemJson(problem)))
        }
    }
}
