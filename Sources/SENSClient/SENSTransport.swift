import SENSCore

/// One signed call to any SENS resource of one service's NCP account: what was asked and what came back.
/// Implementations sign, bound the call's time and its answer's size, and turn every failure to get an answer
/// into a `SENSError`; an answer with any status is returned for the resource to read.
public protocol SENSTransport: Sendable {
    func send(_ request: SENSRequest) async throws(SENSError) -> SENSAnswer
}

public struct SENSRequest: Sendable {
    public enum Method: String, Sendable {
        case get = "GET"
        case post = "POST"
        case delete = "DELETE"
    }

    public var method: Method
    /// The path below the base URL and the query, exactly as sent and signed (`/sms/v2/services/…?pageSize=1`).
    public var pathAndQuery: String
    /// A JSON body, when the call has one.
    public var body: [UInt8]?
    /// For log lines and metrics: `register`, `list`, `delete`.
    public var operation: String

    public init(method: Method, pathAndQuery: String, body: [UInt8]? = nil, operation: String) {
        self.method = method
        self.pathAndQuery = pathAndQuery
        self.body = body
        self.operation = operation
    }
}

public struct SENSAnswer: Sendable {
    public var status: Int
    /// `Retry-After` in whole seconds, when SENS sent one.
    public var retryAfterSeconds: Int?
    public var body: [UInt8]

    public init(status: Int, retryAfterSeconds: Int? = nil, body: [UInt8]) {
        self.status = status
        self.retryAfterSeconds = retryAfterSeconds
        self.body = body
    }
}
