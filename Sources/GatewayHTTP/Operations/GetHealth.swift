import Hummingbird
import NIOCore

/// `getHealth`: `GET /healthz`, the process answers.
struct GetHealth: GatewayOperation {
    /// The answer, shared by every request (a buffer is copied only when written to).
    private static let body = ByteBuffer(staticString: #"{"status":"ok"}"#)

    func answer(_ request: OperationRequest) async -> Response {
        .json(Self.body)
    }
}
