import NIOHTTP1
import SENSTestSupport
import Testing

@Suite("sens-gateway --simulator")
struct SimulatorModeTests {
    /// The README's run command: the executable with an in-process simulator, no credentials, a full flow over HTTP.
    @Test func runsTheWholeFlowWithNoCredentials() async throws {
        let gateway = try GatewayProcess(["--simulator", "--http-port", "0"])
        let port = try await gateway.listeningPort()
        try await PooledClient.with(port: port) { client in
            let registered = try await client.send(
                .POST,
                "/v1/unsubscribes",
                json: #"{"phoneNumbers":["+82 10-1234-5678"]}"#
            )
            #expect(registered.status == 200)
            let checked = try await client.send(.GET, "/v1/unsubscribes/010-1234-5678")
            #expect(checked.status == 200)
            #expect(try checked.decode(StatusJSON.self).optedOut)
            let removed = try await client.send(.DELETE, "/v1/unsubscribes", json: #"{"phoneNumbers":["01012345678"]}"#)
            #expect(removed.status == 200)
            #expect(
                try await client.send(.GET, "/v1/unsubscribes/01012345678").decode(StatusJSON.self).optedOut == false
            )
            #expect(try await client.send(.HEAD, "/healthz").status == 200)
        }
        #expect(try await gateway.stop() == 0, "SIGTERM stops the gateway, then the simulator, gracefully")
    }

    /// Several services in simulator mode: each name is a simulated service with its own list.
    @Test func simulatesEveryConfiguredService() async throws {
        let gateway = try GatewayProcess(
            ["--simulator", "--http-port", "0", "--sens-services", "default=,retail="],
            environment: ["SENS_DEFAULT_SERVICE": "retail"]
        )
        let port = try await gateway.listeningPort()
        try await PooledClient.with(port: port) { client in
            let services = try await client.send(.GET, "/v1/services")
            #expect(services.body.contains(#""name":"retail""#) && services.body.contains(#""default":true"#))
            #expect(
                try await client.send(.POST, "/v1/unsubscribes", json: #"{"phoneNumbers":["010-1234-5678"]}"#).status
                    == 200
            )
            let retail = try await client.send(.GET, "/v1/services/retail/unsubscribes/01012345678")
            #expect(
                try retail.decode(StatusJSON.self).optedOut,
                "the unprefixed routes address the default service, retail"
            )
            let other = try await client.send(.GET, "/v1/services/default/unsubscribes/01012345678")
            #expect(try other.decode(StatusJSON.self).optedOut == false, "each service has its own list")
        }
        #expect(try await gateway.stop() == 0)
    }
}
