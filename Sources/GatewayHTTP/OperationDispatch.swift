import GatewayAPI
import Hummingbird
import NIOCore
import OptOuts
import SENSCore

/// One operation of `openapi.yaml`, in one file under `Operations/`: it reads its request, calls the domain and
/// writes its answer. Every outcome, success or refusal, is a returned `Response`.
protocol GatewayOperation: Sendable {
    /// Whether the operation reads its body as it arrives (`request.request.body`) rather than collected first.
    var streamsBody: Bool { get }
    func answer(_ request: OperationRequest) async -> Response
}

extension GatewayOperation {
    var streamsBody: Bool { false }
}

/// A request the rules let through, as an operation reads it.
struct OperationRequest: Sendable {
    /// The request as received (its headers; the body, for an operation that streams it).
    let request: Request
    let route: OpenAPIRoute
    /// The service the path names, or the default one.
    let service: OptOutService
    /// Path parameters, percent-decoded.
    let parameters: [String: String]
    /// Query parameters, percent-decoded.
    let query: [String: String]
    /// The collected body (empty for an operation without one, or one that streams it).
    let body: ByteBuffer
    /// The bound the body is read within.
    let bodyLimit: Int

    /// A problem answer for this request (`instance` is its path), with `Retry-After` when given.
    func problem(
        _ status: Int,
        _ detail: String,
        type: String = "about:blank",
        title: String? = nil,
        invalidParams: [(name: String, reason: String)] = [],
        retryAfterSeconds: Int? = nil
    ) -> Response {
        var problem = Problems.make(
            status: status,
            detail: detail,
            type: type,
            title: title,
            invalidParams: invalidParams
        )
        problem.instance = path
        var response = Response.problem(problem)
        if let retryAfterSeconds { response.headers[.retryAfter] = String(retryAfterSeconds) }
        return response
    }

    /// The answer to a refusal of the request pipeline's (its body, say).
    func refused(_ refusal: RequestRules.Refusal) -> Response {
        problem(refusal.status, refusal.detail, invalidParams: refusal.invalidParams.map { ($0.name, $0.reason) })
    }

    /// The `{phoneNumber}` path parameter, parsed; or the 400 that names it.
    func phoneNumberParameter() -> Result<PhoneNumber, Refused> {
        do {
            return .success(try PhoneNumber.parse(parameters["phoneNumber"] ?? ""))
        } catch {
            return .failure(Refused(answer: badParameter("phoneNumber", error.reason)))
        }
    }

    /// A request refused with `answer`.
    struct Refused: Error {
        let answer: Response
    }

    /// A 400 naming one parameter.
    func badParameter(_ name: String, _ reason: String) -> Response {
        problem(400, "\(name): \(reason)", invalidParams: [(name, reason)])
    }

    var path: String { String((request.head.path ?? "/").prefix { $0 != "?" }) }
}

/// The operation of each operation id of `openapi.yaml`: the default service's and a named service's variants of
/// an operation share one implementation. Made once; `init` fails if the spec has an operation that is not here.
struct OperationDispatch: Sendable {
    private let operations: [String: any GatewayOperation]

    init(_ operations: [String: any GatewayOperation], routes: RouteTable) throws {
        let missing = routes.operations.map(\.operationID).filter { operations[$0] == nil }
        guard missing.isEmpty else { throw MissingOperations(operationIDs: missing) }
        self.operations = operations
    }

    subscript(operationID: String) -> any GatewayOperation {
        operations[operationID]!
    }

    struct MissingOperations: Error, CustomStringConvertible {
        let operationIDs: [String]
        var description: String {
            "openapi.yaml declares operations the gateway does not implement: \(operationIDs.joined(separator: ", "))"
        }
    }
}
