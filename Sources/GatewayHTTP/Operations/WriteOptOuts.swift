import CallScope
import GatewayAPI
import Hummingbird
import Logging
import NIOCore
import OptOuts
import SENSCore

/// `registerOptOuts`, `registerServiceOptOuts` (`POST …/unsubscribes`) and `removeOptOuts`,
/// `removeServiceOptOuts` (`DELETE …/unsubscribes`): a body of 1–10,000 numbers, every one validated before
/// anything is sent (one bad number refuses the request, listing each), then written to SENS; the answer says
/// what became of each number.
struct WriteOptOuts: GatewayOperation {
    enum Write: String {
        case register, remove

        var verb: String { self == .register ? "registered" : "removed" }
    }

    let write: Write
    let metrics: any GatewayHTTPMetrics
    let encoder: OptOutEncoder
    static let maxPhoneNumbers = 10_000

    func answer(_ request: OperationRequest) async -> Response {
        let inputs: [String]
        switch Self.phoneNumbers(in: request.body) {
        case .success(let read): inputs = read
        case .failure(.malformed(let detail)), .failure(.undecodable(let detail)): return request.problem(400, detail)
        case .failure(.tooManyRecipients(let limit)):
            return request.problem(400, "the body holds more than \(limit) numbers")
        }
        switch Self.validate(inputs) {
        case .failure(.count(let count)):
            audit(request.service.name, count: count, numbers: [], outcome: "refused: wrong number of items")
            return request.problem(400, "phoneNumbers must hold 1 to \(Self.maxPhoneNumbers) items, not \(count)")
        case .failure(.invalid(let errors)):
            audit(
                request.service.name,
                count: inputs.count,
                numbers: [],
                outcome: "refused: \(errors.count) invalid numbers, nothing sent"
            )
            var problem = Problems.invalidPhoneNumbers(errors, total: inputs.count)
            problem.value1.instance = request.path
            return .problem(problem, status: 422)
        case .success(let numbers):
            return await written(numbers, in: request.service)
        }
    }

    /// Writes validated numbers, audits and counts the outcome, and answers with it.
    func written(_ numbers: [PhoneNumber], in service: OptOutService) async -> Response {
        let outcome =
            write == .register ? await service.directory.register(numbers) : await service.directory.remove(numbers)
        metrics.recordWritten(service: service.name, operation: write.rawValue, count: outcome.done.count)
        let distinct = outcome.done + outcome.unconfirmed + outcome.notSent
        audit(
            service.name,
            count: distinct.count,
            numbers: distinct,
            outcome: outcome.failure.map {
                "failed (\($0.answer.status)): \(outcome.done.count) done, \(outcome.unconfirmed.count) unconfirmed, "
                    + "\(outcome.notSent.count) not sent"
            } ?? "ok: \(outcome.done.count) done"
        )
        if let error = outcome.failure { return Problems.partialWrite(outcome, error: error, verb: write.verb) }
        return .json(write == .register ? encoder.registered(outcome) : encoder.removed(outcome))
    }

    /// The body's numbers as sent, read by the filter's JSON reader (the one reader of `{"phoneNumbers": […]}`).
    static func phoneNumbers(in body: ByteBuffer) -> Result<[String], FilterBodyError> {
        body.withUnsafeReadableBytes { bytes in
            // JSON is UTF-8: a body that is not is refused whole, not read with replacement characters.
            guard String(validating: bytes, as: UTF8.self) != nil else {
                return .failure(.malformed("the body is not valid UTF-8"))
            }
            var reader = JSONRecipientReader(maxRecipients: .max)
            var numbers: [String] = []
            numbers.reserveCapacity(bytes.count / 16)
            do throws(FilterBodyError) {
                try reader.read(bytes) { numbers.append($0.input) }
                try reader.finish { numbers.append($0.input) }
            } catch {
                return .failure(error)
            }
            return .success(numbers)
        }
    }

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
                errors.append(
                    .init(
                        index: index,
                        input: FilterAnswer.echoed(input),
                        code: .init(rawValue: error.code) ?? .notAllocated,
                        reason: error.reason
                    )
                )
            }
        }
        return errors.isEmpty ? .success(numbers) : .failure(.invalid(errors))
    }

    /// One audit line per register or remove: request id, caller, service, how many numbers, the numbers masked
    /// (the first 100), and the outcome.
    func audit(_ service: String, count: Int, numbers: [String], outcome: String) {
        guard let request = RequestMetadata.current else { return }
        var masked = numbers.prefix(100).map { PhoneNumber.mask($0) }.joined(separator: ",")
        if numbers.count > 100 { masked += ",+\(numbers.count - 100) more" }
        request.logger.notice(
            "audit",
            metadata: [
                "audit.action": .string(write.rawValue), "audit.caller": .string(request.caller),
                "audit.service": .string(service),
                "audit.count": .stringConvertible(count), "audit.numbers": .string(masked),
                "audit.outcome": .string(outcome),
            ]
        )
    }
}

/// `removeOptOut`, `removeServiceOptOut`: `DELETE …/unsubscribes/{phoneNumber}`, one number, refused with 400
/// when it is not a number.
struct RemoveOptOut: GatewayOperation {
    let remove: WriteOptOuts

    func answer(_ request: OperationRequest) async -> Response {
        switch request.phoneNumberParameter() {
        case .success(let number):
            return await remove.written([number], in: request.service)
        case .failure(let refused):
            remove.audit(request.service.name, count: 1, numbers: [], outcome: "refused: invalid number, nothing sent")
            return refused.answer
        }
    }
}
