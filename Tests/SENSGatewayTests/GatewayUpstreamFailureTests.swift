import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SENSCore
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Synchronization
import Testing

@Suite("Gateway answers when SENS fails")
struct GatewayUpstreamFailureTests {
    @Test func mapsARefusedSignatureTo502WithoutLeakingAnything() async throws {
        let harness = GatewayHarness()
        try await harness.run(adjust: { $0.credentials = NCPCredentials(accessKey: $0.credentials.accessKey, secretKey: NCPSecretKey("wrong-secret-xyz")) }) { gateway in
            for answer in [try await gateway.get("/v1/unsubscribes/01012345678"), try await gateway.get("/v1/unsubscribes")] {
                #expect(answer.status == 502)
                let problem = try #require(answer.problem)
                #expect(problem.type == "urn:sens-gateway:problem:sens-failure")
                #expect(problem.detail == "SENS refused the gateway's credentials (401): its NCP keys or clock need attention")
                for secret in ["wrong-secret-xyz", "SECRET_KEY", "Authentication Failed", "errorCode"] {
                    #expect(!answer.body.contains(secret))
                }
            }
            let write = try await gateway.post("/v1/unsubscribes", phoneNumbers: ["010-1234-5678"])
            #expect(write.status == 502)
            #expect(write.problem?.done == [])
            #expect(write.problem?.notDone == ["01012345678"])
        }
    }

    @Test(arguments: [(500, 502, "SENS failed (500)"), (503, 503, "SENS is unavailable (SENS answered 503)"),
                      (504, 504, "SENS reported a timeout (504)"), (502, 503, "SENS is unavailable (SENS answered 502)"),
                      (403, 502, "SENS denied the gateway access (403)")])
    func mapsSENSStatuses(sensStatus: Int, status: Int, detail: String) async throws {
        let harness = GatewayHarness(simulator: SimulatorConfiguration(faults: FaultSettings(failureRate: 1, failureStatus: sensStatus)))
        try await harness.run { gateway in
            let check = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(check.status == status)
            #expect(check.problem?.detail == detail)
            let write = try await gateway.delete("/v1/unsubscribes", phoneNumbers: ["010-1234-5678", "02-123-4567"])
            #expect(write.status == status)
            #expect(write.problem?.notDone == ["01012345678", "021234567"])
        }
    }

    @Test func passesThrottlingOnWithRetryAfter() async throws {
        let harness = GatewayHarness(simulator: SimulatorConfiguration(faults: FaultSettings(throttleRate: 1, retryAfterSeconds: 9)))
        try await harness.run { gateway in
            for answer in [try await gateway.get("/v1/unsubscribes/01012345678"),
                           try await gateway.post("/v1/unsubscribes", phoneNumbers: ["01012345678"])] {
                #expect(answer.status == 429)
                #expect(answer.headers[.retryAfter] == "9")
                #expect(answer.problem?.status == 429)
            }
        }
    }

    @Test func answers504WhenSENSIsSlowerThanTheTimeout() async throws {
        let harness = GatewayHarness(simulator: SimulatorConfiguration(faults: FaultSettings(latencyMilliseconds: 1_500)))
        try await harness.run(adjust: { $0.attemptTimeoutMilliseconds = 200 }) { gateway in
            let answer = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(answer.status == 504)
            #expect(answer.problem?.detail == "SENS did not answer within 200 ms")
        }
    }

    @Test func answers503WhenSENSIsUnreachable() async throws {
        // Port 9 on loopback (discard) has no listener here: the connection is refused.
        try await GatewayHarness.runGateway(sens: stubSENSSettings(port: 9)) { gateway in
            let answer = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(answer.status == 503)
            #expect(answer.problem?.detail == "SENS is unavailable (could not reach SENS)")
        }
    }

    /// The second of three calls fails: the answer names exactly which numbers were and were not registered.
    @Test func namesWhatWasAndWasNotWrittenWhenAChunkFails() async throws {
        let sens = ScriptedSENSClient(failOnCall: 2, with: .unavailable("SENS answered 503"))
        let numbers = mobileNumbers(2_500)
        try await runRouter(sens: sens) { gateway in
            let answer = try await gateway.post("/v1/unsubscribes", phoneNumbers: numbers)
            #expect(answer.status == 503)
            let problem = try #require(answer.problem)
            let doneIsFirstChunk = problem.done == Array(numbers[..<1_000])
            let notDoneIsTheRest = problem.notDone == Array(numbers[1_000...])
            #expect(doneIsFirstChunk)
            #expect(notDoneIsTheRest)
            #expect(problem.detail.contains("1000 of 2500 numbers were registered and 1500 were not"))
            #expect(sens.calls == 2, "no call after the failed one")
        }
    }

    @Test func readsAnUnreadableAnswerAs502AndABodilessEmpty404AsAnEmptyList() async throws {
        let router = Router()
        router.get("/sms/v2/services/:service/unsubscribes") { request, _ -> Response in
            if request.uri.queryParameters.get("clientTelNo") == "01000000000" { return Response(status: .notFound) }
            if request.uri.queryParameters.get("clientTelNo") == "01011111111" {
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"[{"clientTelNo":"01011111111","registerType":"M","registerTime":"yesterday"}]"#)))
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "<html>maintenance</html>")))
        }
        let stub = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await stub.test(.live) { stubClient in
            try await GatewayHarness.runGateway(sens: stubSENSSettings(port: try #require(stubClient.port))) { gateway in
                let html = try await gateway.get("/v1/unsubscribes/01022222222")
                #expect(html.status == 502)
                #expect(html.problem?.detail == "SENS answered something unreadable (the list answer is not the documented JSON)")
                #expect(!html.body.contains("maintenance"))
                let badTime = try await gateway.get("/v1/unsubscribes/01011111111")
                #expect(badTime.status == 502)
                let empty = try await gateway.get("/v1/unsubscribes/01000000000")
                #expect(empty.status == 200)
                #expect(try empty.decode(StatusJSON.self).optedOut == false)
            }
        }
    }
}

/// Settings for a SENS stand-in on a loopback port that checks no signature.
func stubSENSSettings(port: Int) -> GatewayConfiguration.SENSSettings {
    GatewayConfiguration.SENSSettings(
        credentials: NCPCredentials(accessKey: "A", secretKey: NCPSecretKey("S")), serviceID: SimulatorConfiguration.defaultServiceID,
        baseURL: SENSBaseURL("http://127.0.0.1:\(port)")!)
}

/// A SENS client that succeeds, except on the calls it is told to fail (counted from 1).
final class ScriptedSENSClient: SENSClient {
    private let count = Mutex(0)
    let failures: [Int: SENSError]

    init(failing failures: [Int: SENSError]) {
        self.failures = failures
    }

    convenience init(failOnCall call: Int, with error: SENSError) {
        self.init(failing: [call: error])
    }

    var calls: Int { count.withLock { $0 } }

    private func next() throws(SENSError) {
        let call = count.withLock { value -> Int in
            value += 1
            return value
        }
        if let error = failures[call] { throw error }
    }

    func register(_ numbers: [String]) async throws(SENSError) -> [OptOutRecord] {
        try next()
        return numbers.map { OptOutRecord(phoneNumber: $0, source: .manual, registeredAtMilliseconds: 1_764_119_519_271) }
    }

    func list(_ query: SENSListQuery) async throws(SENSError) -> [OptOutRecord] {
        try next()
        return []
    }

    func delete(_ numbers: [String]) async throws(SENSError) {
        try next()
    }
}

/// The gateway's router with `sens` as its SENS client, served on a loopback port.
func runRouter(sens: any SENSClient, cache: CacheSettings = .disabled,
               _ test: @escaping @Sendable (GatewayClient) async throws -> Void) async throws {
    let router = try GatewayApplication.buildRouter(optOuts: OptOutService(sens: sens, cache: cache),
                                                    registerTimeOffsetSeconds: 9 * 3600, maxBodyBytes: 1 << 20)
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Logger(label: "gateway"))
    try await app.test(.live) { client in try await test(GatewayClient(client: client)) }
}
