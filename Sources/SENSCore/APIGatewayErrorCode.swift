/// The errors NCP's API Gateway answers with, each with its HTTP status and `errorCode`.
public enum APIGatewayErrorCode: String, Sendable, CaseIterable {
    case authenticationFailed = "200"
    case permissionDenied = "210"
    case forbidden = "230"
    case notFound = "300"
    case quotaExceeded = "400"
    case throttleLimited = "410"
    case rateLimited = "420"
    case requestEntityTooLarge = "430"
    case endpointError = "500"
    case endpointTimeout = "510"
    case unexpectedError = "900"

    public var status: Int {
        switch self {
        case .authenticationFailed, .permissionDenied: 401
        case .forbidden: 403
        case .notFound: 404
        case .quotaExceeded, .throttleLimited, .rateLimited: 429
        case .requestEntityTooLarge: 413
        case .endpointError: 503
        case .endpointTimeout: 504
        case .unexpectedError: 500
        }
    }

    public var message: String {
        switch self {
        case .authenticationFailed: "Authentication Failed"
        case .permissionDenied: "Permission Denied"
        case .forbidden: "Forbidden"
        case .notFound: "Not Found Exception"
        case .quotaExceeded: "Quota Exceeded"
        case .throttleLimited: "Throttle Limited"
        case .rateLimited: "Rate Limited"
        case .requestEntityTooLarge: "Request Entity Too Large"
        case .endpointError: "Endpoint Error"
        case .endpointTimeout: "Endpoint Timeout"
        case .unexpectedError: "Unexpected Error"
        }
    }

    /// The code the gateway most likely answers with for a bare HTTP status.
    public init(status: Int) {
        self =
            switch status {
            case 401: .authenticationFailed
            case 403: .forbidden
            case 404: .notFound
            case 413: .requestEntityTooLarge
            case 429: .throttleLimited
            case 503: .endpointError
            case 504: .endpointTimeout
            default: .unexpectedError
            }
    }

    public func body(details: String? = nil) -> APIGatewayErrorBody {
        APIGatewayErrorBody(error: .init(errorCode: rawValue, message: message, details: details))
    }
}
