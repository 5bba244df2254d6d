#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import HTTPTypes

/// An HTTP answer as a test reads it: status, headers and the body as text.
public struct HTTPAnswer: Sendable {
    public let status: Int
    public let headers: HTTPFields
    public let body: String

    public init(status: Int, headers: HTTPFields, body: String) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        try JSONDecoder().decode(type, from: Data(body.utf8))
    }
}
