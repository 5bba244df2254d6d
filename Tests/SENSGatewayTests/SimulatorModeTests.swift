import Logging
import NIOHTTP1
import SENSGateway
import SENSTestSupport
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
        try await PooledClient.with(port: port) { client in
            let registered = try await client.send(.POST, "/v1/unsubscribes", json: #"{"phoneNumbers":["+82 10-1234-5678"]}"#)
            #expect(registered.status == 200)
            let checked = try await client.send(.GET, "/v1/unsubscribes/010-1234-5678")
            #expect(checked.status == 200)
            #expect(try checked.decode(StatusJSON.self).optedOut)
            let removed = try await client.send(.DELETE, "/v1/unsubscribes", json: #"{"phoneNumbers":["01012345678"]}"#)
            #expect(removed.status == 200)
            #expect(try await client.send(.GET, "/v1/unsubscribes/01012345678").decode(StatusJSON.self).optedOut == false)
            #expect(try await client.send(.HEAD, "/healthz").status == 200)
        }
        runner.cancel()
        _ = await runner.result
    }
}
