public import HTTPTypes
import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An HTTP answer as a test reads it: status, headers and the body as text (and as bytes).
public struct HTTPAnswer: Sendable {
    public let status: Int
    public let headers: HTTPFields
    public let body: String
    /// The body's bytes as received (`body` replaces what is not UTF-8).
    public let bytes: [UInt8]

    public init(status: Int, headers: HTTPFields, body: String, bytes: [UInt8]? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bytes = bytes ?? Array(body.utf8)
    }

    public func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        try JSONDecoder().decode(type, from: Data(body.utf8))
    }

    /// The body decoded with the types generated from `openapi.yaml`, dates as the gateway writes them.
    public func decodeGenerated<Value: Decodable>(_ type: Value.Type) throws -> Value {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let milliseconds = RFC3339.parse(text) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "not RFC 3339: \(text)")
                )
            }
            return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        }
        return try decoder.decode(type, from: Data(body.utf8))
    }
}
