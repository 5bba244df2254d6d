import CallScope
import GatewayAPI
import Logging
import OptOuts
import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one translation between the generated types and the domain's.
enum APIMapping {
    static let maxPhoneNumbers = 10_000

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

    static func countProblem(_ count: Int) -> String {
        "phoneNumbers must hold 1 to \(maxPhoneNumbers) items, not \(count)"
    }

    /// A 400 for a parameter, as a failure.
    struct ParameterRefusal: Error {
        let response: Components.Responses.BadRequest

        init(_ response: Components.Responses.BadRequest) { self.response = response }
    }

    /// The list query from the operation's parameters, or the 400 naming the one that is wrong.
    static func query(phoneNumber: String?, from: Date?, to: Date?, page: Int?, pageSize: Int?) -> Result<OptOutQuery, ParameterRefusal> {
        let page = page ?? 0
        let pageSize = pageSize ?? OptOutQuery.maxPageSize
        guard (0...1_000_000).contains(page) else { return .failure(ParameterRefusal(Problems.badParameter("page", "must be from 0 to 1000000"))) }
        guard (1...OptOutQuery.maxPageSize).contains(pageSize) else {
            return .failure(ParameterRefusal(Problems.badParameter("pageSize", "must be from 1 to \(OptOutQuery.maxPageSize)")))
        }
        var number: PhoneNumber?
        if let phoneNumber {
            do { number = try PhoneNumber.parse(phoneNumber) } catch { return .failure(ParameterRefusal(Problems.badParameter("phoneNumber", error.reason))) }
        }
        let from = from?.epochMilliseconds, to = to?.epochMilliseconds
        if let from, from < 0 { return .failure(ParameterRefusal(Problems.badParameter("from", "must not be before 1970"))) }
        if let from, let to, from > to { return .failure(ParameterRefusal(Problems.badParameter("to", "must not be before from"))) }
        return .success(OptOutQuery(phoneNumber: number, fromMilliseconds: from, toMilliseconds: to, page: page, pageSize: pageSize))
    }

    /// `Cache-Control: no-cache` (among other directives, any case) asks for a fresh answer.
    static func refresh(_ cacheControl: String?) -> Bool {
        cacheControl?.split(separator: ",").contains { $0.filter { $0 != " " && $0 != "\t" }.lowercased() == "no-cache" } ?? false
    }

    static func xCache(_ origin: AnswerOrigin) -> Components.Headers.XCache {
        switch origin {
        case .cached: .hit
        case .fetched: .miss
        case .stale: .stale
        case .mirror: .mirror
        }
    }

    /// The API shape of one opt-out.
    static func optOut(_ optOut: OptOut) -> Components.Schemas.OptOut {
        .init(phoneNumber: optOut.phoneNumber, registeredAt: Date(epochMilliseconds: optOut.registeredAtMilliseconds),
              source: optOut.source == .ars ? .ars : .manual)
    }

    static func page(_ answer: Answer<[OptOut]>, _ query: OptOutQuery) -> Components.Schemas.OptOutPage {
        .init(items: answer.value.map(optOut), page: query.page, pageSize: query.pageSize,
              nextPage: answer.value.count >= query.pageSize ? query.page + 1 : nil)
    }

    static func status(_ number: PhoneNumber, _ answer: Answer<OptOut?>) -> Components.Schemas.OptOutStatus {
        guard let found = answer.value else { return .init(phoneNumber: number.digits, optedOut: false) }
        let shape = optOut(found)
        return .init(phoneNumber: number.digits, optedOut: true, registeredAt: shape.registeredAt, source: shape.source)
    }

    /// One audit line per register or remove: request id, caller, service, how many numbers, the numbers masked
    /// (the first 100), and the outcome.
    static func audit(_ operation: String, service: String, count: Int, numbers: [String], outcome: String) {
        guard let request = RequestMetadata.current else { return }
        var masked = numbers.prefix(100).map { PhoneNumber.mask($0) }.joined(separator: ",")
        if numbers.count > 100 { masked += ",+\(numbers.count - 100) more" }
        request.logger.notice("audit", metadata: [
            "audit.action": .string(operation), "audit.caller": .string(request.caller), "audit.service": .string(service),
            "audit.count": .stringConvertible(count), "audit.numbers": .string(masked), "audit.outcome": .string(outcome),
        ])
    }

    /// Which of an operation's typed query parameters cannot be read, and why (the runtime does not say).
    static func parameterProblems(operationID: String, query: [(name: String, value: String)]) -> [(name: String, reason: String)] {
        guard ["listOptOuts", "listServiceOptOuts", "listOptOutChanges", "listServiceOptOutChanges"].contains(operationID) else { return [] }
        return query.compactMap { item in
            switch item.name {
            case "page", "pageSize", "limit":
                // Decimal digits only, as the runtime reads them (`+5` and ` 5` are not integers to it).
                let digits = item.value.hasPrefix("-") ? item.value.dropFirst() : Substring(item.value)
                return digits.isEmpty || !digits.allSatisfy(\.isASCIIDigitCharacter) || Int(item.value) == nil
                    ? (item.name, "must be an integer") : nil
            case "from", "to":
                return RFC3339DateTranscoder.parse(item.value) == nil
                    ? (item.name, "must be an RFC 3339 date-time, like 2025-11-26T10:11:59+09:00") : nil
            default:
                return nil
            }
        }
    }
}

extension Character {
    fileprivate var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) }
}
