import GatewayHTTP
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import OptOutMirror
import OptOuts
import SENSClient
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
        let wrongSecret: @Sendable (inout SENSServiceSettings) -> Void = {
            $0.credentials = NCPCredentials(
                accessKey: $0.credentials.accessKey,
                secretKey: NCPSecretKey("wrong-secret-xyz")
            )
        }
        try await harness.run(adjust: wrongSecret) { gateway in
            for answer in [
                try await gateway.get("/v1/unsubscribes/01012345678"), try await gateway.get("/v1/unsubscribes"),
            ] {
                #expect(answer.status == 502)
                let problem = try #require(answer.problem)
                #expect(problem.type == "urn:sens-gateway:problem:sens-credentials-rejected")
                #expect(
                    problem.detail
                        == "SENS refused the gateway's credentials (401): its NCP keys, their permissions or its clock need attention; retrying will not help"
                )
                for secret in ["wrong-secret-xyz", "SECRET_KEY", "Authentication Failed", "errorCode"] {
                    #expect(!answer.body.contains(secret))
                }
            }
            let write = try await gateway.post("/v1/unsubscribes", phoneNumbers: ["010-1234-5678"])
            #expect(write.status == 502)
            #expect(write.problem?.done == [])
            #expect(write.problem?.unconfirmed == [], "a refused call was not applied")
            #expect(write.problem?.notSent == ["01012345678"])
            #expect(write.problem?.detail.contains("Retrying will not help") == true)
        }
    }

    /// Refused keys: the problem says retrying will not help, readiness goes down (and is counted) until a SENS
    /// call succeeds again.
    @Test func refusedCredentialsTakeReadinessDownUntilACallSucceeds() async throws {
        let metrics = GatewayMetrics()
        let breaker = ResilienceSettings.defaults.with {
            $0.breakerMinimumCalls = 1_000
            $0.breakerWindow = 1_000
        }.circuitBreaker()
        let sens = ResilientUnsubscribes(
            upstream: ScriptedUnsubscribes(failing: [1: .refused(status: 401), 2: .refused(status: 403)]),
            policy: RetryPolicy(maxAttempts: 3),
            breaker: breaker,
            bulkhead: ResilienceSettings.defaults.bulkhead(),
            metrics: metrics.service("default")
        )
        try await runRouter(
            sens: sens,
            health: SENSServiceHealth(breaker: breaker, credentials: sens.credentials),
            metrics: metrics
        ) { gateway in
            #expect(try await gateway.get("/readyz").status == 200)
            let refused = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(refused.status == 502)
            #expect(refused.problem?.type == "urn:sens-gateway:problem:sens-credentials-rejected")
            #expect(refused.headers[.retryAfter] == nil)
            let notReady = try await gateway.get("/readyz")
            #expect(notReady.status == 503)
            #expect(notReady.body.contains(#""reason":"sens_credentials_rejected""#))
            #expect(
                try await gateway.get("/metrics").body.contains(
                    #"sens_credentials_rejected_total{service="default"} 1"#
                )
            )
            #expect(try await gateway.get("/v1/unsubscribes/01012345678").status == 502, "403 too, not retried")
            #expect(try await gateway.get("/readyz").status == 503)
            #expect(try await gateway.get("/v1/unsubscribes/01012345678").status == 200)
            #expect(try await gateway.get("/readyz").status == 200, "ready again once SENS accepts the keys")
        }
    }

    /// A write whose first attempt timed out and whose retry was throttled: the caller gets the throttle (429 with
    /// its Retry-After), and the numbers are unconfirmed, since the first attempt may have been applied. A read in
    /// the same sequence ending in refused keys is a credentials problem, not a time-out.
    @Test func aRetriedCallReportsItsLastFailureAndWhetherAnEarlierAttemptMayHaveApplied() async throws {
        let writes = ResilientUnsubscribes(
            upstream: ScriptedUnsubscribes(failing: [
                1: .timedOut(.attempt(milliseconds: 100)),
                2: .throttled(retryAfterSeconds: 7),
            ]),
            policy: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1)),
            breaker: ResilienceSettings.defaults.circuitBreaker(),
            bulkhead: ResilienceSettings.defaults.bulkhead()
        )
        try await runRouter(sens: writes) { gateway in
            let write = try await gateway.post("/v1/unsubscribes", phoneNumbers: ["010-1234-5678"])
            #expect(write.status == 429)
            #expect(write.headers[.retryAfter] == "7")
            #expect(write.problem?.unconfirmed == ["01012345678"])
            #expect(write.problem?.notSent == [])
        }
        let reads = ResilientUnsubscribes(
            upstream: ScriptedUnsubscribes(failing: [
                1: .timedOut(.attempt(milliseconds: 100)),
                2: .refused(status: 401),
            ]),
            policy: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1)),
            breaker: ResilienceSettings.defaults.circuitBreaker(),
            bulkhead: ResilienceSettings.defaults.bulkhead()
        )
        try await runRouter(sens: reads) { gateway in
            let check = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(check.status == 502)
            #expect(check.problem?.type == "urn:sens-gateway:problem:sens-credentials-rejected")
        }
    }

    /// Keys allowed to read but refused a write: the write says so, and the service's reads stay ready.
    @Test func aRefusedWriteLeavesReadinessAlone() async throws {
        let breaker = ResilienceSettings.defaults.with {
            $0.breakerMinimumCalls = 1_000
            $0.breakerWindow = 1_000
        }.circuitBreaker()
        let sens = ResilientUnsubscribes(
            upstream: ScriptedUnsubscribes(failing: [1: .refused(status: 403)]),
            policy: ResilienceSettings.defaults.retryPolicy,
            breaker: breaker,
            bulkhead: ResilienceSettings.defaults.bulkhead()
        )
        try await runRouter(sens: sens, health: SENSServiceHealth(breaker: breaker, credentials: sens.credentials)) {
            gateway in
            let write = try await gateway.send(.delete, "/v1/unsubscribes/010-1234-5678")
            #expect(write.status == 502)
            #expect(write.problem?.type == "urn:sens-gateway:problem:sens-credentials-rejected")
            #expect(try await gateway.get("/readyz").status == 200)
        }
    }

    /// Once SENS refused the keys, the periodic probe finds them accepted again without any traffic.
    @Test func theCredentialsProbeBringsAServiceBackWithoutTraffic() async throws {
        let refusals = Mutex(2)
        let router = Router()
        router.get("/sms/v2/services/:service/unsubscribes") { _, _ -> Response in
            let refuse = refusals.withLock { count -> Bool in
                count -= 1
                return count >= 0
            }
            return refuse
                ? Response(
                    status: .unauthorized,
                    body: .init(
                        byteBuffer: ByteBuffer(
                            string: #"{"error":{"errorCode":"200","message":"Authentication Failed"}}"#
                        )
                    )
                )
                : Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "[]")))
        }
        let stub = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await stub.test(.live) { stubClient in
            let configuration = GatewayConfiguration.forTests.with {
                $0.resilience.credentialsProbeSeconds = 1
                $0.mirror.enabled = false
            }
            try await TestGateway.run(
                configuration,
                services: [.init(name: "default", sens: stubSENSSettings(port: try #require(stubClient.port)))],
                dependencies: GatewayDependencies(logger: Logger(label: "gateway"), checkSENSAtStart: true)
            ) { gateway in
                var states: [Int] = []
                for _ in 0..<60 {
                    states.append(try await gateway.get("/readyz").status)
                    if states.last == 200 && states.contains(503) { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(states.contains(503), "refused at start-up")
                #expect(states.last == 200, "accepted again by the probe, with no request to SENS from callers")
            }
        }
    }

    /// A 5xx may have been applied (unconfirmed); a 4xx was not (not sent).
    @Test(arguments: [
        (500, 502, "SENS failed (500)"), (503, 503, "SENS is unavailable (SENS answered 503)"),
        (504, 504, "SENS reported a timeout (504)"), (502, 503, "SENS is unavailable (SENS answered 502)"),
        (
            403, 502,
            "SENS refused the gateway's credentials (403): its NCP keys, their permissions or its clock need attention; retrying will not help"
        ),
        (400, 502, "SENS refused the call (400)"),
    ])
    func mapsSENSStatuses(sensStatus: Int, status: Int, detail: String) async throws {
        let harness = GatewayHarness(
            simulator: SimulatorConfiguration(faults: FaultSettings(failureRate: 1, failureStatus: sensStatus))
        )
        try await harness.run { gateway in
            let check = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(check.status == status)
            #expect(check.problem?.detail == detail)
            let write = try await gateway.delete("/v1/unsubscribes", phoneNumbers: ["010-1234-5678", "02-123-4567"])
            #expect(write.status == status)
            let both = ["01012345678", "021234567"]
            #expect(write.problem?.unconfirmed == (sensStatus >= 500 ? both : []))
            #expect(write.problem?.notSent == (sensStatus >= 500 ? [] : both))
        }
    }

    @Test func passesThrottlingOnWithRetryAfter() async throws {
        let harness = GatewayHarness(
            simulator: SimulatorConfiguration(faults: FaultSettings(throttleRate: 1, retryAfterSeconds: 9))
        )
        try await harness.run { gateway in
            for answer in [
                try await gateway.get("/v1/unsubscribes/01012345678"),
                try await gateway.post("/v1/unsubscribes", phoneNumbers: ["01012345678"]),
            ] {
                #expect(answer.status == 429)
                #expect(answer.headers[.retryAfter] == "9")
                #expect(answer.problem?.status == 429)
            }
        }
    }

    @Test func answers504WhenSENSIsSlowerThanTheTimeout() async throws {
        let harness = GatewayHarness(
            simulator: SimulatorConfiguration(faults: FaultSettings(latencyMilliseconds: 1_500))
        )
        let shortAttempts: @Sendable (inout SENSServiceSettings) -> Void = { $0.attemptTimeoutMilliseconds = 200 }
        try await harness.run(adjust: shortAttempts) { gateway in
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
            #expect(answer.problem?.detail.hasPrefix("SENS is unreachable (could not connect to SENS") == true)
            let write = try await gateway.post("/v1/unsubscribes", phoneNumbers: ["010-1234-5678"])
            #expect(write.status == 503)
            #expect(write.problem?.notSent == ["01012345678"], "no connection: certainly not applied")
            #expect(write.problem?.unconfirmed == [])
        }
    }

    /// The second of three calls fails after it was sent: the answer names exactly which numbers were registered,
    /// which may have been, and which were never sent.
    @Test func namesWhatWasAndWasNotWrittenWhenAChunkFails() async throws {
        let sens = ScriptedUnsubscribes(failOnCall: 2, with: .unavailable("SENS answered 503"))
        let numbers = mobileNumbers(2_500)
        try await runRouter(sens: sens) { gateway in
            let answer = try await gateway.post("/v1/unsubscribes", phoneNumbers: numbers)
            #expect(answer.status == 503)
            let problem = try #require(answer.problem)
            let doneIsFirstChunk = problem.done == Array(numbers[..<1_000])
            let unconfirmedIsTheFailedChunk = problem.unconfirmed == Array(numbers[1_000..<2_000])
            let notSentIsTheRest = problem.notSent == Array(numbers[2_000...])
            #expect(doneIsFirstChunk)
            #expect(unconfirmedIsTheFailedChunk)
            #expect(notSentIsTheRest)
            #expect(
                problem.detail.contains(
                    "Of 2500 numbers, 1000 were registered (done), 1000 were sent but the answer was lost"
                )
            )
            #expect(
                problem.detail.contains("500 were not registered (notSent). Retrying unconfirmed and notSent is safe")
            )
            #expect(sens.calls == 2, "no call after the failed one")
        }
    }

    @Test func readsAnUnreadableAnswerAs502AndABodilessEmpty404AsAnEmptyList() async throws {
        let router = Router()
        router.get("/sms/v2/services/:service/unsubscribes") { request, _ -> Response in
            if request.uri.queryParameters.get("clientTelNo") == "01000000000" { return Response(status: .notFound) }
            if request.uri.queryParameters.get("clientTelNo") == "01011111111" {
                return Response(
                    status: .ok,
                    body: .init(
                        byteBuffer: ByteBuffer(
                            string: #"[{"clientTelNo":"01011111111","registerType":"M","registerTime":"yesterday"}]"#
                        )
                    )
                )
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "<html>maintenance</html>")))
        }
        let stub = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await stub.test(.live) { stubClient in
            try await GatewayHarness.runGateway(sens: stubSENSSettings(port: try #require(stubClient.port))) {
                gateway in
                let html = try await gateway.get("/v1/unsubscribes/01022222222")
                #expect(html.status == 502)
                #expect(
                    html.problem?.detail
                        == "SENS answered something unreadable (the list answer is not the documented JSON)"
                )
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
func stubSENSSettings(port: Int) -> SENSServiceSettings {
    SENSServiceSettings(
        credentials: NCPCredentials(accessKey: "A", secretKey: NCPSecretKey("S")),
        serviceID: SimulatorConfiguration.defaultServiceID,
        baseURL: SENSBaseURL("http://127.0.0.1:\(port)")!
    )
}

/// The HTTP layer's settings as the gateway derives them from the settings table's defaults.
let responderSettings: GatewayResponder.Settings = {
    let defaults = GatewayConfiguration.defaults
    return GatewayResponder.Settings(
        maxBodyBytes: defaults.http.maxBodyBytes,
        filterMaxBodyBytes: defaults.mirror.filterMaxBodyBytes,
        deadline: .milliseconds(defaults.resilience.deadlineMilliseconds),
        mirrorRetryAfterSeconds: Int(defaults.mirror.settings.syncInterval.components.seconds),
        responseUTCOffsetSeconds: defaults.calls.registerTimeOffsetSeconds
    )
}()

/// The gateway's HTTP layer (no SENS client, no mirror) with `sens` as its SENS, served on a loopback port.
func runRouter(
    sens: any SENSUnsubscribes,
    cache: CacheSettings = .disabled,
    health: any ServiceHealth = AlwaysHealthy(),
    metrics: GatewayMetrics = GatewayMetrics(),
    _ test: @escaping @Sendable (GatewayClient) async throws -> Void
) async throws {
    let directory = CachedOptOutDirectory(base: SENSOptOutDirectory(sens: sens), settings: cache)
    let services = OptOutServices([
        OptOutService(
            name: "default",
            serviceID: SimulatorConfiguration.defaultServiceID,
            directory: directory,
            health: health
        )
    ])
    let responder = try GatewayResponder(
        services: services,
        mirrors: [:],
        metrics: metrics,
        accessLog: LoggerAccessLog(),
        clock: SystemEpochClock(),
        delivery: AnswerDelivery(drain: .seconds(GatewayConfiguration.defaults.http.drainSeconds)),
        settings: responderSettings
    )
    let app = Application(
        responder: responder,
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        logger: Logger(label: "gateway")
    )
    try await app.test(.live) { client in try await test(GatewayClient(client: client)) }
}
