import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import SENSGateway
import Testing

@Suite("sens-gateway --simulator")
struct SimulatorModeTests {
    /// The README's run command: the gateway and an in-process simulator, no credentials, a full flow over HTTP.
    @Test func runsTheWholeFlowWithNoCredentials() async throws {
        let configuration = try GatewayStartup.configuration(arguments: ["sens-gateway", "--simulator", "--http-port", "0"],
                                                             environment: [:]).get()
        let (ports, ready) = AsyncStream.makeStream(of: Int.self)
        let runner = Task { try await GatewayRunner.run(configuration, logger: Logger(label: "gateway")) { ready.yield($0) } }
        let port = try #require(await ports.first { _ in true })
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        func call(_ method: HTTPMethod, _ path: String, _ json: String? = nil) async throws -> (UInt, String) {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            request.method = method
            if let json {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: json))
            }
            let response = try await client.execute(request, timeout: .seconds(5))
            return (response.status.code, String(buffer: try await response.body.collect(upTo: 1 << 20)))
        }
        let registered = try await call(.POST, "/v1/unsubscribes", #"{"phoneNumbers":["+82 10-1234-5678"]}"#)
        #expect(registered.0 == 200)
        let checked = try await call(.GET, "/v1/unsubscribes/010-1234-5678")
        #expect(checked.0 == 200)
        #expect(checked.1.contains(#""optedOut" : true"#))
        let removed = try await call(.DELETE, "/v1/unsubscribes", #"{"phoneNumbers":["01012345678"]}"#)
        #expect(removed.0 == 200)
        #expect(try await call(.GET, "/v1/unsubscribes/01012345678").1.contains(#""optedOut" : false"#))
        try await client.shutdown()
        runner.cancel()
        _ = await runner.result
    }
}
