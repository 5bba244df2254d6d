#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Header names of the NCP API Gateway v2 signature scheme.
public enum NCPHeader {
    public static let timestamp = "x-ncp-apigw-timestamp"
    public static let accessKey = "x-ncp-iam-access-key"
    public static let signature = "x-ncp-apigw-signature-v2"
}

/// The three headers that authenticate one API Gateway call.
public struct NCPSignedHeaders: Sendable, Equatable {
    public let timestamp: String
    public let accessKey: String
    public let signature: String

    /// `(name, value)` pairs in a fixed order, ready to add to any HTTP header container.
    public var fields: [(name: String, value: String)] {
        [(NCPHeader.timestamp, timestamp), (NCPHeader.accessKey, accessKey), (NCPHeader.signature, signature)]
    }
}

/// Signs requests with the NCP API Gateway v2 scheme:
/// `base64(HMAC-SHA256(secretKey, "{METHOD} {pathAndQuery}\n{timestampMs}\n{accessKey}"))`.
///
/// `pathAndQuery` must be exactly the request target that goes on the wire (no scheme or host); the body is
/// not signed.
public struct NCPSigner: Sendable {
    public let credentials: NCPCredentials

    public init(credentials: NCPCredentials) {
        self.credentials = credentials
    }

    public func sign(method: String, pathAndQuery: String, timestampMilliseconds: Int64) -> NCPSignedHeaders {
        NCPSignedHeaders(
            timestamp: String(timestampMilliseconds),
            accessKey: credentials.accessKey,
            signature: signature(method: method, pathAndQuery: pathAndQuery, timestamp: String(timestampMilliseconds))
        )
    }

    /// The base64 signature for a timestamp given as it appears in the header.
    public func signature(method: String, pathAndQuery: String, timestamp: String) -> String {
        Data(rawSignature(method: method, pathAndQuery: pathAndQuery, timestamp: timestamp)).base64EncodedString()
    }

    /// Whether `presented` (base64, as received) is the signature of this request, compared in constant time.
    public func isValidSignature(_ presented: String, method: String, pathAndQuery: String, timestamp: String) -> Bool {
        guard let decoded = Data(base64Encoded: presented) else { return false }
        let expected = rawSignature(method: method, pathAndQuery: pathAndQuery, timestamp: timestamp)
        return HMACSHA256.constantTimeEquals(Array(decoded), expected)
    }

    private func rawSignature(method: String, pathAndQuery: String, timestamp: String) -> [UInt8] {
        let message = "\(method) \(pathAndQuery)\n\(timestamp)\n\(credentials.accessKey)"
        return HMACSHA256.authenticationCode(key: credentials.secretKey.bytes, message: Array(message.utf8))
    }
}
