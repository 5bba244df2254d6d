import HTTPTypes
import Hummingbird
import OptOuts
import SENSCore

/// `checkOptOut`, `checkServiceOptOut`: `GET …/unsubscribes/{phoneNumber}`, whether one number opted out.
struct CheckOptOut: GatewayOperation {
    let encoder: OptOutEncoder

    func answer(_ request: OperationRequest) async -> Response {
        let number: PhoneNumber
        switch request.phoneNumberParameter() {
        case .success(let parsed): number = parsed
        case .failure(let refused): return refused.answer
        }
        do {
            let answer = try await request.service.directory.check(
                number,
                refresh: CacheDirectives.refresh(request.request)
            )
            return .json(encoder.status(digits: number.digits, answer.value), headers: CacheDirectives.origin(answer))
        } catch {
            return Problems.readFailure(error)
        }
    }
}

/// What the reads take from `Cache-Control` and say of where their answer came from.
enum CacheDirectives {
    /// `Cache-Control: no-cache` (among other directives, any case, in any of the header's lines) asks for a fresh
    /// answer.
    static func refresh(_ request: Request) -> Bool {
        request.headers[values: .cacheControl].contains { value in
            value.split(separator: ",").contains { $0.filter { $0 != " " && $0 != "\t" }.lowercased() == "no-cache" }
        }
    }

    /// `X-Cache` and `Age` of a read's answer.
    static func origin<Value>(_ answer: Answer<Value>) -> HTTPFields {
        [.xCache: answer.origin.rawValue, .age: String(answer.ageSeconds)]
    }
}

extension HTTPField.Name {
    static let xCache = Self("X-Cache")!
}
