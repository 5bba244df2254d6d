/// A typed Swift client of the gateway, generated at build time from the root `openapi.yaml` (through the
/// symlink in this folder): `Client`, with one method per operation, over any `ClientTransport` (the
/// AsyncHTTPClient transport is linked in). The request and answer types are `GatewayAPI`'s, re-exported.
///
/// ```swift
/// let client = Client(serverURL: URL(string: "http://sens-gateway:8080")!, transport: AsyncHTTPClientTransport())
/// let status = try await client.checkOptOut(path: .init(phoneNumber: "010-1234-5678")).ok.body.json
/// ```
@_exported import GatewayAPI
@_exported import OpenAPIAsyncHTTPClient
