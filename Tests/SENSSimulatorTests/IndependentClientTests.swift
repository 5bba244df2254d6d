import Foundation
import SENSCore
import SENSSimulator
import Testing

@Suite("SENS simulator and an independent signer")
struct IndependentClientTests {
    /// Python's `hmac` signs, the simulator verifies: the two implementations agree on the scheme.
    @Test func acceptsRequestsSignedByPython() async throws {
        let harness = SimulatorHarness()
        try await harness.run { client in
            let port = try #require(client.port)
            let configuration = harness.simulator.configuration
            let script = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "Fixtures/python_signed_client.py")
            let (status, output) = try await runProcess("/usr/bin/env", [
                "python3", script.path, "http://127.0.0.1:\(port)", configuration.serviceID,
                configuration.credentials.accessKey, SimulatorConfiguration.defaultSecretKey,
            ])
            #expect(status == 0, "\(output)")
            #expect(output.contains("behaved as documented"))
            #expect(harness.simulator.store.contains("01077778888"))
            #expect(!harness.simulator.store.contains("01077779999"))
        }
    }
}

/// Runs a program to completion and returns its exit status and combined output.
func runProcess(_ executable: String, _ arguments: [String]) async throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(filePath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let exit = AsyncStream<Int32> { continuation in
        process.terminationHandler = { finished in
            continuation.yield(finished.terminationStatus)
            continuation.finish()
        }
    }
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    var status: Int32 = -1
    for await value in exit { status = value }
    return (status, output)
}
