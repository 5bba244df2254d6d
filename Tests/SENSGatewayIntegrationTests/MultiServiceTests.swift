import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import OptOuts
import SENSClient
import SENSCore
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Testing

/// Two SENS services behind one gateway: one in the simulator's main NCP account, one in another account with
/// its own keys.
@Suite("Several SENS services")
struct MultiServiceTests {
    static let retailKeys = NCPCredentials(accessKey: "RETAIL_ACCESS", secretKey: NCPSecretKey("RETAIL_SECRET"))
    static let retailID = "ncp:sms:kr:999999999999:retail"

    /// The simulator: the default account owns the default service, a second account owns retail.
    static func simulator() -> SENSSimulator {
        SENSSimulator(
            configuration: SimulatorConfiguration(
                accounts: [SimulatedAccount(credentials: retailKeys, serviceIDs: [retailID])])
        )
    }

    static func services(
        port: Int,
        retailPort: Int? = nil,
        retailKeys: NCPCredentials = retailKeys
    ) -> [GatewayConfiguration.Service] {
        [
            .init(
                name: "default",
                sens: SENSServiceSettings(
                    credentials: SimulatorConfiguration().credentials,
                    serviceID: SimulatorConfiguration.defaultServiceID,
                    baseURL: SENSBaseURL("http://127.0.0.1:\(port)")!
                )
            ),
            .init(
                name: "retail",
                sens: SENSServiceSettings(
                    credentials: retailKeys,
                    serviceID: retailID,
                    baseURL: SENSBaseURL("http://127.0.0.1:\(retailPort ?? port)")!
                )
            ),
        ]
    }

    static func run(
        _ simulator: SENSSimulator,
        retailPort: Int? = nil,
        retailKeys: NCPCredentials = retailKeys,
        resilience: ResilienceSettings = GatewayHarness.singleAttempt,
        _ test: @escaping @Sendable (GatewayClient) async throws -> Void
    ) async throws {
        let simulatorApp = simulator.buildApplication(
            server: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Logger(label: "simulator")
        )
        try await simulatorApp.test(.live) { simulatorClient in
            let port = try #require(simulatorClient.port)
            try await TestGateway.run(
                .forTests.with {
                    $0.resilience = resilience
                    $0.mirror.enabled = false
                },
                services: services(port: port, retailPort: retailPort, retailKeys: retailKeys),
                test
            )
        }
    }

    @Test func writesAndReadsLandInTheRightServiceWithTheRightKeys() async throws {
        let simulator = Self.simulator()
        try await Self.run(simulator) { gateway in
            let services = try await gateway.get("/v1/services")
            #expect(services.status == 200)
            #expect(
                services.body
                    == #"{"services":[{"default":true,"name":"default","serviceId":"ncp:sms:kr:123456789012:sens"},{"default":false,"name":"retail","serviceId":"ncp:sms:kr:999999999999:retail"}]}"#
            )

            #expect(
                try await gateway.post("/v1/services/retail/unsubscribes", phoneNumbers: ["010-1111-2222"]).status
                    == 200
            )
            #expect(try await gateway.post("/v1/unsubscribes", phoneNumbers: ["010-3333-4444"]).status == 200)
            #expect(simulator.stores[Self.retailID]?.contains("01011112222") == true, "signed with retail's own keys")
            #expect(simulator.stores[Self.retailID]?.contains("01033334444") == false)
            #expect(simulator.store.contains("01033334444") && !simulator.store.contains("01011112222"))

            let retailCheck = try await gateway.get("/v1/services/retail/unsubscribes/01011112222")
            #expect(try retailCheck.decode(StatusJSON.self).optedOut)
            #expect(
                try await gateway.get("/v1/services/default/unsubscribes/01011112222").decode(StatusJSON.self).optedOut
                    == false
            )
            #expect(
                try await gateway.get("/v1/unsubscribes/01033334444").decode(StatusJSON.self).optedOut,
                "unprefixed is default"
            )
            let page = try await gateway.get("/v1/services/retail/unsubscribes?pageSize=10").decode(PageJSON.self)
            #expect(page.items.map(\.phoneNumber) == ["01011112222"])

            let removed = try await gateway.send(.delete, "/v1/services/retail/unsubscribes/010-1111-2222")
            #expect(removed.status == 200)
            #expect(simulator.stores[Self.retailID]?.contains("01011112222") == false)
            #expect(simulator.store.contains("01033334444"), "the other service's list is untouched")
        }
    }

    @Test func anUnknownServiceIs404NamingIt() async throws {
        try await Self.run(Self.simulator()) { gateway in
            for (method, path) in [
                (HTTPRequest.Method.get, "/v1/services/shop/unsubscribes/01012345678"),
                (.get, "/v1/services/shop/unsubscribes"), (.delete, "/v1/services/shop/unsubscribes/01012345678"),
            ] {
                let answer = try await gateway.send(method, path)
                #expect(answer.status == 404, "\(method) \(path)")
                #expect(answer.problem?.detail == "no such service: shop; this gateway serves default, retail")
            }
            let write = try await gateway.post("/v1/services/shop/unsubscribes", phoneNumbers: ["010-1234-5678"])
            #expect(write.status == 404)
        }
    }

    /// Retail's SENS is unreachable: its breaker opens and it is reported not ready, while the default service
    /// is still served, cached and ready.
    @Test func oneFailingServiceLeavesTheOtherServedCachedAndReady() async throws {
        let breakerTrips = ResilienceSettings.defaults.with {
            $0.maxAttempts = 1
            $0.breakerMinimumCalls = 2
            $0.breakerFailurePercent = 50
            $0.breakerWindow = 2
            $0.breakerCooldownMilliseconds = 60_000
        }
        try await Self.run(Self.simulator(), retailPort: 9, resilience: breakerTrips) { gateway in
            #expect(try await gateway.get("/v1/unsubscribes/01012345678").status == 200)
            for _ in 0..<2 {
                #expect(try await gateway.get("/v1/services/retail/unsubscribes/01012345678").status == 503)
            }
            let open = try await gateway.get("/v1/services/retail/unsubscribes/01012345678")
            #expect(open.status == 503)
            #expect(open.problem?.detail.contains("circuit open") == true)

            let cached = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(cached.status == 200)
            #expect(cached.headers[HTTPField.Name("X-Cache")!] == "HIT", "default's cache is untouched")
            #expect(try await gateway.post("/v1/unsubscribes", phoneNumbers: ["010-5555-6666"]).status == 200)

            let ready = try await gateway.get("/readyz")
            #expect(ready.status == 200, "default can be served")
            #expect(ready.body.contains(#"{"mirror":"disabled","name":"default","status":"ready"}"#))
            #expect(ready.body.contains(#""name":"retail","reason":"sens_circuit_open""#))
        }
    }

    /// Keys of the wrong account are refused for that service alone.
    @Test func refusedKeysTakeOnlyTheirServiceDown() async throws {
        try await Self.run(Self.simulator(), retailKeys: SimulatorConfiguration().credentials) { gateway in
            let refused = try await gateway.get("/v1/services/retail/unsubscribes/01012345678")
            #expect(refused.status == 502)
            #expect(refused.problem?.type == "urn:sens-gateway:problem:sens-credentials-rejected")
            #expect(try await gateway.get("/v1/unsubscribes/01012345678").status == 200)
            let ready = try await gateway.get("/readyz")
            #expect(ready.status == 200)
            #expect(ready.body.contains(#""name":"retail","reason":"sens_credentials_rejected""#))
        }
    }

    /// No service ready: the replica is not ready.
    @Test func aReplicaWithNoServiceReadyIsNotReady() async throws {
        let simulator = SENSSimulator(
            configuration: SimulatorConfiguration(
                credentials: NCPCredentials(accessKey: "OTHER", secretKey: NCPSecretKey("X"))
            )
        )
        try await Self.run(simulator, retailKeys: SimulatorConfiguration().credentials) { gateway in
            #expect(try await gateway.get("/v1/unsubscribes/01012345678").status == 502)
            #expect(try await gateway.get("/v1/services/retail/unsubscribes/01012345678").status == 502)
            let ready = try await gateway.get("/readyz")
            #expect(ready.status == 503)
            #expect(ready.body.contains(#""reason":"sens_credentials_rejected""#))
        }
    }
}
