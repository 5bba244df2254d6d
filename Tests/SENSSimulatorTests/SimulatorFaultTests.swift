import HTTPTypes
import NIOCore
import SENSCore
import SENSSimulator
import SENSTestSupport
import Testing

@Suite("SENS simulator fault injection")
struct SimulatorFaultTests {
    @Test(arguments: [(500, "900"), (503, "500"), (504, "510"), (502, "900")])
    func failsWithTheChosenStatus(status: Int, errorCode: String) async throws {
        let harness = SimulatorHarness(
            configuration: SimulatorConfiguration(faults: FaultSettings(failureRate: 1, failureStatus: status))
        )
        try await harness.run { client in
            let response = try await client.call(.post, harness.path, numbers: ["01011112222"])
            #expect(response.status == status)
            #expect(response.gatewayError?.errorCode == errorCode)
            #expect(harness.simulator.store.count == 0, "a failed call changes nothing")
            #expect(harness.simulator.stats.snapshot.faultedCalls == 1)
        }
    }

    @Test func throttlesWithRetryAfter() async throws {
        let harness = SimulatorHarness(
            configuration: SimulatorConfiguration(faults: FaultSettings(throttleRate: 1, retryAfterSeconds: 7))
        )
        try await harness.run { client in
            let response = try await client.call(.get, harness.path)
            #expect(response.status == 429)
            #expect(response.headers[.retryAfter] == "7")
            #expect(response.gatewayError?.errorCode == "410")
        }
    }

    @Test func faultsChangeAtRunTimeThroughTheAdminRoutes() async throws {
        let harness = SimulatorHarness()
        try await harness.run { client in
            #expect(try await client.call(.get, harness.path).status == 200)
            let put = try await client.unsigned(
                .put,
                "/_simulator/faults",
                headers: [.contentType: "application/json"],
                body: .init(
                    string:
                        #"{"latencyMilliseconds":0,"failureRate":1,"failureStatus":503,"throttleRate":0,"retryAfterSeconds":1}"#
                )
            )
            #expect(put.status == 200)
            #expect(try await client.call(.get, harness.path).status == 503)
            let invalid = try await client.unsigned(
                .put,
                "/_simulator/faults",
                headers: [.contentType: "application/json"],
                body: .init(
                    string:
                        #"{"latencyMilliseconds":0,"failureRate":2,"failureStatus":503,"throttleRate":0,"retryAfterSeconds":1}"#
                )
            )
            #expect(invalid.status == 400)
            #expect(harness.simulator.faults.settings.failureRate == 1)
            harness.simulator.faults.settings = .none
            #expect(try await client.call(.get, harness.path).status == 200)
            let stats = try await client.unsigned(.get, "/_simulator/stats").decode(SimulatorCounts.self)
            #expect(stats.listCalls == 2)
            #expect(stats.faultedCalls == 1)
        }
    }

    @Test func addsLatency() async throws {
        let harness = SimulatorHarness(
            configuration: SimulatorConfiguration(faults: FaultSettings(latencyMilliseconds: 300))
        )
        try await harness.run { client in
            let start = ContinuousClock.now
            let response = try await client.call(.get, harness.path)
            #expect(response.status == 200)
            #expect(ContinuousClock.now - start >= .milliseconds(300))
        }
    }

    @Test func seedsARSOptOuts() async throws {
        let harness = SimulatorHarness()
        try await harness.run { client in
            let seeded = try await client.unsigned(
                .post,
                "/_simulator/unsubscribes",
                headers: [.contentType: "application/json"],
                body: .init(
                    string:
                        #"[{"clientTelNo":"01055556666","registerType":"C","registerTime":"2025-11-26T10:11:59.271"}]"#
                )
            )
            #expect(seeded.status == 200)
            let listed = try await client.call(.get, harness.path + "?clientTelNo=01055556666")
            #expect(
                try listed.decode([SENSUnsubscribeRecord].self) == [
                    SENSUnsubscribeRecord(
                        clientTelNo: "01055556666",
                        registerType: .ars,
                        registerTime: "2025-11-26T10:11:59.271"
                    )
                ]
            )
        }
    }
}
