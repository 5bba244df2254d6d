import CallScope
import Logging
import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `/sms/v2/services/{serviceId}/unsubscribes` over a transport: writes the documented bodies, reads the
/// documented answers (each `registerTime` in the service's zone), and classifies every other status.
public struct UnsubscribesResource: SENSUnsubscribes {
    let transport: any SENSTransport
    /// Exactly as sent and signed: the service id's colons unencoded.
    let path: String
    let localTime: SENSLocalTime
    let logger: Logger

    public init(transport: any SENSTransport, serviceID: String, registerTimeOffsetSeconds: Int, logger: Logger) {
        self.transport = transport
        self.path = "/sms/v2/services/\(serviceID)/unsubscribes"
        self.localTime = SENSLocalTime(utcOffsetSeconds: registerTimeOffsetSeconds)
        self.logger = logger
    }

    public func register(_ targets: SENSTargets) async throws(SENSError) -> [SENSRecord] {
        let answer = try await transport.send(
            SENSRequest(method: .post, pathAndQuery: path, body: targets.body, operation: "register")
        )
        guard answer.status == 200 else { throw classify(answer, operation: "register") }
        return try decode(answer.body, operation: "register")
    }

    public func list(_ query: SENSListQuery) async throws(SENSError) -> [SENSRecord] {
        let answer = try await transport.send(
            SENSRequest(method: .get, pathAndQuery: path + query.queryString, operation: "list")
        )
        // SENS has been seen answering an empty list with a bodiless 404; an API Gateway 404 always has a body.
        if answer.status == 404 && answer.body.isEmpty { return [] }
        guard answer.status == 200 else { throw classify(answer, operation: "list") }
        return try decode(answer.body, operation: "list")
    }

    public func delete(_ targets: SENSTargets) async throws(SENSError) {
        let answer = try await transport.send(
            SENSRequest(method: .delete, pathAndQuery: path, body: targets.body, operation: "delete")
        )
        guard answer.status == 204 || answer.status == 200 else { throw classify(answer, operation: "delete") }
        // SENS answers 204 with no body. A 200 whose body is not JSON (a proxy's or a maintenance page) says
        // nothing about the removal: it may or may not have been applied.
        if answer.status == 200, let first = answer.body.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }),
            first != UInt8(ascii: "[") && first != UInt8(ascii: "{")
        {
            RequestMetadata.logger(or: logger).warning(
                "SENS answer unreadable",
                metadata: ["operation": "delete", "bytes": "\(answer.body.count)"]
            )
            throw .invalidResponse("the delete answer is not the documented empty answer")
        }
    }

    /// SENS's records; any unreadable one makes the answer unreadable.
    private func decode(_ body: [UInt8], operation: String) throws(SENSError) -> [SENSRecord] {
        let wire = body.withUnsafeBytes { SENSRecordsReader.records(in: $0) }
        let records = wire?.compactMap { record in
            localTime.parse(record.registerTime).map {
                SENSRecord(phoneNumber: record.clientTelNo, source: record.registerType, registeredAtMilliseconds: $0)
            }
        }
        guard let wire, let records, records.count == wire.count else {
            RequestMetadata.logger(or: logger).warning(
                "SENS answer unreadable",
                metadata: ["operation": "\(operation)", "bytes": "\(body.count)"]
            )
            throw .invalidResponse("the \(operation) answer is not the documented JSON")
        }
        return records
    }

    private func classify(_ answer: SENSAnswer, operation: String) -> SENSError {
        // The upstream body is logged (never returned) only as its API Gateway code, which carries no secrets.
        let code = (try? JSONDecoder().decode(APIGatewayErrorBody.self, from: Data(answer.body)))?.error.errorCode
        RequestMetadata.logger(or: logger).warning(
            "SENS call failed",
            metadata: [
                "operation": "\(operation)", "status": "\(answer.status)", "apiGatewayCode": "\(code ?? "-")",
            ]
        )
        switch answer.status {
        case 429: return .throttled(retryAfterSeconds: answer.retryAfterSeconds)
        case 503, 502: return .unavailable("SENS answered \(answer.status)")
        case 504: return .timedOut(.upstream)
        case 500...599: return .failed(status: answer.status)
        case 400...499: return .refused(status: answer.status)
        default: return .invalidResponse("unexpected status \(answer.status) for \(operation)")
        }
    }
}
