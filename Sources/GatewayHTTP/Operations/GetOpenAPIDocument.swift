import GatewayAPI
import Hummingbird
import NIOCore

/// `getOpenAPIDocument`: `GET /openapi.yaml`, the contract this build serves, byte for byte.
struct GetOpenAPIDocument: GatewayOperation {
    private static let body = ByteBuffer(string: EmbeddedOpenAPIDocument.text)

    func answer(_ request: OperationRequest) async -> Response {
        Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: Self.body))
    }
}
