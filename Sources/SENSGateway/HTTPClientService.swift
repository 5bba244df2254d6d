import AsyncHTTPClient
import ServiceLifecycle

/// Owns the process's one `HTTPClient` and shuts it down once graceful shutdown begins. Added to the application
/// before the server, so the server drains its in-flight requests first.
public struct HTTPClientService: Service {
    public let client: HTTPClient

    public init(client: HTTPClient) {
        self.client = client
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
