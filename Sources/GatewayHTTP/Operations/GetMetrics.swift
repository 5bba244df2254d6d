import Hummingbird
import NIOCore

/// `getMetrics`: `GET /metrics`, every metric in the Prometheus text format.
struct GetMetrics: GatewayOperation {
    let metrics: any GatewayHTTPMetrics

    func answer(_ request: OperationRequest) async -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.exposition()))
        )
    }
}
