import Foundation
import SENSCore
import SENSSimulator
import SENSTestSupport
import Testing

@Suite("SENS simulator and an independent signer")
struct IndependentClientTests {
    /// Python's `hmac` signs, the simulator verifies: the two implementations agree on the scheme.
    @Test func acceptsRequestsSignedByPython() async throws {
        let harness = SimulatorHarness()
        try await harness.run { client in
            let port = try #require(client.port)
            let configuration = harness.simulator.configuration
            let script = URL(filePath: #filePath).deletingLastPathComponent().appending(
                path: "Fixtures/python_signed_client.py"
            )
            let (status, output) = try await runProcess(
                "/usr/bin/env",
                [
                    "python3", script.path, "http://127.0.0.1:\(port)", configuration.serviceID,
                    configuration.credentials.accessKey, SimulatorConfiguration.defaultSecretKey,
                ]
            )
            #expect(status == 0, "\(output)")
            #expect(output.contains("behaved as documented"))
            #expect(harness.simulator.store.contains("01077778888"))
            #expect(!harness.simulator.store.contains("01077779999"))
        }
    }
}
