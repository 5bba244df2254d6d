import Hummingbird
import OptOuts
import SENSCore

/// `listOptOuts`, `listServiceOptOuts`: `GET …/unsubscribes`, a page of the list, optionally for one number or a
/// registration-time range.
struct ListOptOuts: GatewayOperation {
    let encoder: OptOutEncoder

    func answer(_ request: OperationRequest) async -> Response {
        let query: OptOutQuery
        switch Self.query(request.query) {
        case .success(let valid): query = valid
        case .failure(let refusal): return request.badParameter(refusal.name, refusal.reason)
        }
        do {
            let answer = try await request.service.directory.list(
                query,
                refresh: CacheDirectives.refresh(request.request)
            )
            return .json(encoder.page(answer.value, query), headers: CacheDirectives.origin(answer))
        } catch {
            return Problems.readFailure(error)
        }
    }

    struct ParameterRefusal: Error {
        let name: String
        let reason: String

        init(_ name: String, _ reason: String) {
            self.name = name
            self.reason = reason
        }
    }

    /// The list query from the operation's parameters, or the one that is wrong and why.
    static func query(_ parameters: [String: String]) -> Result<OptOutQuery, ParameterRefusal> {
        var integers: [String: Int] = [:]
        for name in ["page", "pageSize"] {
            guard let text = parameters[name] else { continue }
            guard let value = QueryValues.integer(text) else {
                return .failure(ParameterRefusal(name, "must be an integer"))
            }
            integers[name] = value
        }
        let page = integers["page"] ?? 0
        let pageSize = integers["pageSize"] ?? OptOutQuery.maxPageSize
        guard (0...1_000_000).contains(page) else {
            return .failure(ParameterRefusal("page", "must be from 0 to 1000000"))
        }
        guard (1...OptOutQuery.maxPageSize).contains(pageSize) else {
            return .failure(ParameterRefusal("pageSize", "must be from 1 to \(OptOutQuery.maxPageSize)"))
        }
        var times: [String: Int64] = [:]
        for name in ["from", "to"] {
            guard let text = parameters[name] else { continue }
            guard let milliseconds = QueryValues.time(text) else {
                return .failure(ParameterRefusal(name, "must be an RFC 3339 date-time, like 2025-11-26T10:11:59+09:00"))
            }
            times[name] = milliseconds
        }
        var number: PhoneNumber?
        if let text = parameters["phoneNumber"] {
            do { number = try PhoneNumber.parse(text) } catch {
                return .failure(ParameterRefusal("phoneNumber", error.reason))
            }
        }
        let from = times["from"]
        let to = times["to"]
        if let from, from < 0 { return .failure(ParameterRefusal("from", "must not be before 1970")) }
        if let from, let to, from > to { return .failure(ParameterRefusal("to", "must not be before from")) }
        return .success(
            OptOutQuery(phoneNumber: number, fromMilliseconds: from, toMilliseconds: to, page: page, pageSize: pageSize)
        )
    }
}

/// Typed query values, read the way the spec declares them.
enum QueryValues {
    /// A decimal integer: an optional `-` and ASCII digits only (`+5`, ` 5` and `1.5` are not integers).
    static func integer(_ text: String) -> Int? {
        let digits = text.utf8.first == UInt8(ascii: "-") ? text.utf8.dropFirst() : Substring(text).utf8
        guard !digits.isEmpty, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            return nil
        }
        return Int(text)
    }

    /// RFC 3339, also when an unencoded `+` of the offset reached the query as a space (`…00 09:00`).
    static func time(_ text: String) -> Int64? {
        if let milliseconds = RFC3339.parse(text) { return milliseconds }
        let bytes = Array(text.utf8)
        guard bytes.count > 6, bytes[bytes.count - 6] == UInt8(ascii: " ") else { return nil }
        return RFC3339.parse(String(text.dropLast(6)) + "+" + String(text.suffix(5)))
    }
}
