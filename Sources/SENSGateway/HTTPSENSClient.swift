import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif
import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The SENS client over AsyncHTTPClient: signs each call, bounds its time and its answer's size, and classifies
/// every outcome. The `HTTPClient` is shared and owned by the caller.
public struct HTTPSENSClient: SENSClient {
    let httpClient: HTTPClient
    let settings: GatewayConfiguration.SENSSettings
    let signer: NCPSigner
    let clock: any EpochClock
    let logger: Logger
    /// The resource path, exactly as sent and signed (the service id's colons unencoded).
    let resourcePath: String
    /// `scheme://host[:port]`, to which the signed path and query are appended.
    let origin: String

    /// SENS answers larger than this are treated as unreadable (a full list page is about 10 KB).
    static var maxResponseBytes: Int { 1 << 20 }

    public init(httpClient: HTTPClient, settings: GatewayConfiguration.SENSSettings, clock: any EpochClock = SystemEpochClock(),
                logger: Logger) {
        self.httpClient = httpClient
        self.settings = settings
        self.signer = NCPSigner(credentials: settings.credentials)
        self.clock = clock
        self.logger = logger
        // Worked out once: they were recomputed from the base URL on every call.
        let prefix = settings.baseURL.pathPrefix
        self.resourcePath = prefix + "/sms/v2/services/\(settings.serviceID)/unsubscribes"
        self.origin = String(settings.baseURL.text.dropLast(prefix.count))
    }

    public func register(_ numbers: [String]) async throws(SENSError) -> [OptOutRecord] {
        let answer = try await send(.POST, resourcePath, body: numbers, operation: "register")
        guard answer.status == 200 else { throw classify(answer, operation: "register") }
        return try decode(answer.body, operation: "register")
    }

    public func list(_ query: SENSListQuery) async throws(SENSError) -> [OptOutRecord] {
        let answer = try await send(.GET, resourcePath + query.queryString, body: nil, operation: "list")
        // SENS has been seen answering an empty list with a bodiless 404; an API Gateway 404 always has a body.
        if answer.status == 404 && answer.body.readableBytes == 0 { return [] }
        guard answer.status == 200 else { throw classify(answer, operation: "list") }
        return try decode(answer.body, operation: "list")
    }

    public func delete(_ numbers: [String]) async throws(SENSError) {
        let answer = try await send(.DELETE, resourcePath, body: numbers, operation: "delete")
        guard answer.status == 204 || answer.status == 200 else { throw classify(answer, operation: "delete") }
    }

    private struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: ByteBuffer
    }

    private func send(_ method: HTTPMethod, _ pathAndQuery: String, body numbers: [String]?, operation: String) async throws(SENSError) -> Answer {
        var request = HTTPClientRequest(url: origin + pathAndQuery)
        request.method = method
        let signed = signer.sign(method: method.rawValue, pathAndQuery: pathAndQuery, timestampMilliseconds: clock.nowMilliseconds())
        for field in signed.fields { request.headers.add(name: field.name, value: field.value) }
        request.headers.add(name: "Accept", value: "application/json")
        if let numbers {
            request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            request.body = .bytes(ByteBuffer(bytes: Self.targetsJSON(numbers)))
        }
        // An attempt gets its own timeout, cut short by the incoming request's deadline.
        let attemptLimit = Duration.milliseconds(settings.attemptTimeoutMilliseconds)
        let remaining = RequestDeadline.remaining ?? attemptLimit
        guard remaining > .zero else { throw .timedOut(.deadline(sent: false)) }
        let deadlineBinds = remaining < attemptLimit
        let timeout = TimeAmount.nanoseconds(Int64(min(attemptLimit, remaining) / .nanoseconds(1)))
        do {
            // AsyncHTTPClient gets no logger: at debug level it would log request URLs, and a list URL holds a
            // full phone number.
            let response = try await httpClient.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: Self.maxResponseBytes)
            return Answer(status: Int(response.status.code), headers: response.headers, body: body)
        } catch {
            throw classify(error, operation: operation, deadlineBinds: deadlineBinds)
        }
    }

    /// `[{"clientTelNo":"01012345678"},…]`, written directly: the numbers are digits only.
    static func targetsJSON(_ numbers: [String]) -> [UInt8] {
        var json: [UInt8] = [UInt8(ascii: "[")]
        json.reserveCapacity(numbers.count * 30 + 2)
        for (index, number) in numbers.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json.append(contentsOf: #"{"clientTelNo":""#.utf8)
            json.append(contentsOf: number.utf8)
            json.append(contentsOf: #""}"#.utf8)
        }
        json.append(UInt8(ascii: "]"))
        return json
    }

    /// SENS's records, each `registerTime` read in the configured zone; any unreadable one makes the answer unreadable.
    private func decode(_ body: ByteBuffer, operation: String) throws(SENSError) -> [OptOutRecord] {
        let localTime = SENSLocalTime(utcOffsetSeconds: settings.registerTimeOffsetSeconds)
        let wire = body.withUnsafeReadableBytes { SENSRecordsReader.records(in: $0) }
        let records = wire?.compactMap { record in
            localTime.parse(record.registerTime).map {
                OptOutRecord(phoneNumber: record.clientTelNo, source: record.registerType, registeredAtMilliseconds: $0)
            }
        }
        guard let wire, let records, records.count == wire.count else {
            RequestMetadata.logger(or: logger).warning("SENS answer unreadable", metadata: ["operation": "\(operation)", "bytes": "\(body.readableBytes)"])
            throw .invalidResponse("the \(operation) answer is not the documented JSON")
        }
        return records
    }

    private func classify(_ answer: Answer, operation: String) -> SENSError {
        // The upstream body is logged (never returned) only as its API Gateway code, which carries no secrets.
        let code = (try? JSONDecoder().decode(APIGatewayErrorBody.self, from: Data(answer.body.readableBytesView)))?.error.errorCode
        RequestMetadata.logger(or: logger).warning("SENS call failed", metadata: [
            "operation": "\(operation)", "status": "\(answer.status)", "apiGatewayCode": "\(code ?? "-")",
        ])
        switch answer.status {
        case 429:
            return .throttled(retryAfterSeconds: answer.headers.first(name: "Retry-After").flatMap { Int($0) }.map { max(0, $0) })
        case 503, 502:
            return .unavailable("SENS answered \(answer.status)")
        case 504:
            return .timedOut(.upstream)
        case 500...599:
            return .failed(status: answer.status)
        case 400...499:
            return .refused(status: answer.status)
        default:
            return .invalidResponse("unexpected status \(answer.status) for \(operation)")
        }
    }

    private func classify(_ error: any Error, operation: String, deadlineBinds: Bool) -> SENSError {
        RequestMetadata.logger(or: logger).warning("SENS call did not complete", metadata: [
            "operation": "\(operation)", "error": "\(String(reflecting: error))",
        ])
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout {
                return .timedOut(deadlineBinds ? .deadline(sent: true) : .attempt(milliseconds: settings.attemptTimeoutMilliseconds))
            }
            if error == .connectTimeout { return .unreachable("could not connect to SENS in time") }
        }
        // No connection was made, so nothing was sent.
        if error is NIOConnectionError || (error as? IOError)?.errnoCode == ECONNREFUSED
            || (error as? ChannelError).map({ if case .connectTimeout = $0 { true } else { false } }) == true {
            return .unreachable("could not connect to SENS")
        }
        if error is NIOTooManyBytesError {
            return .invalidResponse("the \(operation) answer is larger than \(Self.maxResponseBytes) bytes")
        }
        return .unavailable("could not reach SENS")
    }
}
