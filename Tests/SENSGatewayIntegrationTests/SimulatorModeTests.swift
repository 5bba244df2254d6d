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

    /// The simulator on a port of one's choosing, announced in the first log line with how to seed it; a seeded
    /// record is then what SENS answers for that number.
    @Test func theSimulatorCanBeSeededOnItsPort() async throws {
        let simulatorPort = 18_791
        let gateway = try GatewayProcess(
            ["--simulator", "--http-port", "0", "--simulator-port", String(simulatorPort), "--mirror-enabled", "false"]
        )
        let port = try await gateway.listeningPort()
        let firstLine = gateway.standardOutput.split(separator: "\n").first.map(String.init) ?? ""
        #expect(firstLine.contains("http://127.0.0.1:\(simulatorPort)/_simulator/unsubscribes"), "\(firstLine)")
        try await PooledClient.with(port: simulatorPort) { simulator in
            let seeded = try await simulator.send(
                .POST,
                "/_simulator/unsubscribes",
                json: #"{"count":3,"prefix":"0105"}"#
            )
            #expect(seeded.status == 200, "\(seeded.body)")
        }
        try await PooledClient.with(port: port) { client in
            let checked = try await client.send(.GET, "/v1/unsubscribes/01050000001")
            #expect(try checked.decode(StatusJSON.self).optedOut, "\(checked.body)")
            let mirror = try await client.send(.GET, "/v1/mirror")
            #expect(mirror.body.contains(#""simulatorUrl":"http://127.0.0.1:\#(simulatorPort)""#), "\(mirror.body)")
        }
        #expect(try await gateway.stop() == 0)
        // The same port for the gateway and the simulator stops start-up, saying so.
        let clash = try GatewayProcess(["--simulator", "--http-port", "18792", "--simulator-port", "18792"])
        #expect(try await clash.exitStatus() == 2)
        #expect(clash.standardError.contains("simulator.port (SIMULATOR_PORT, --simulator-port) and http.port"))
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
