import Foundation
import HTTPTypes
import NIOHTTP1
import OptOuts
import SENSClient
import SENSCore
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Testing

@Suite("Gateway resilience: faults, retries, deadlines, breaker, bulkhead, hostile input")
struct GatewayResilienceTests {
    /// Three attempts, a 2 s deadline, a breaker that stays closed: the settings the fault table is read against.
    static let retrying = ResilienceSettings.defaults.with {
        $0.deadlineMilliseconds = 2_000
        $0.maxAttempts = 3
        $0.breakerMinimumCalls = 1_000
        $0.breakerWindow = max($0.breakerWindow, $0.breakerMinimumCalls)
    }
    static let numbers = ["010-1111-2222", "02-123-4567", "070-1234-5678"]
    static let normalized = ["01011112222", "021234567", "07012345678"]

    /// Each SENS fault: the documented status, within the deadline, after a bounded number of attempts, and for
    /// a write the exact numbers not registered.
    @Test(arguments: [
        ("500s", FaultSettings(failureRate: 1, failureStatus: 500), 502),
        ("503s", FaultSettings(failureRate: 1, failureStatus: 503), 503),
        ("dropped connections", FaultSettings(dropRate: 1), 503),
        ("resets mid-body", FaultSettings(truncateRate: 1), 502),
        ("non-JSON bodies", FaultSettings(garbageRate: 1), 502),
    ])
    func answersEachFaultAsDocumented(fault: String, settings: FaultSettings, status: Int) async throws {
        let harness = GatewayHarness(
            simulator: SimulatorConfiguration(faults: settings),
            cache: .disabled,
            resilience: Self.retrying
        )
        try await harness.run { gateway in
            let started = ContinuousClock.now
            let check = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(check.status == status, "\(fault)")
            // Bounds prove behaviour, not speed: well under what unbounded retries would take.
            #expect(ContinuousClock.now - started < .seconds(4), "\(fault): answered by the deadline")
            #expect(harness.simulator.stats.snapshot.faultedCalls == 3, "\(fault): three attempts, no more")
            #expect(harness.resilienceStatistics.snapshot.retries == 2)

            let write = try await gateway.post("/v1/unsubscribes", phoneNumbers: Self.numbers)
            #expect(write.status == status)
            #expect(write.problem?.done == [])
            // Each of these faults comes after the call was sent: SENS may have applied it.
            #expect(write.problem?.unconfirmed == Self.normalized, "\(fault)")
            #expect(write.problem?.notSent == [])
            #expect(harness.simulator.store.count == 0)
            // The same for a removal: never reported done when SENS's answer says nothing about it.
            let removal = try await gateway.delete("/v1/unsubscribes", phoneNumbers: Self.numbers)
            #expect(removal.status == status, "\(fault)")
            #expect(removal.problem?.unconfirmed == Self.normalized, "\(fault)")
        }
    }

    @Test func passesOnAPersistent429WithRetryAfterAfterHonouringIt() async throws {
        let harness = GatewayHarness(
            simulator: SimulatorConfiguration(faults: FaultSettings(throttleRate: 1, retryAfterSeconds: 1)),
            cache: .disabled,
            resilience: ResilienceSettings.defaults.with {
                $0.deadlineMilliseconds = 5_000
                $0.maxAttempts = 2
            }
        )
        try await harness.run { gateway in
            let started = ContinuousClock.now
            let answer = try await gateway.get("/v1/unsubscribes/01012345678")
            let elapsed = ContinuousClock.now - started
            #expect(answer.status == 429)
            #expect(answer.headers[.retryAfter] == "1")
            #expect(elapsed >= .seconds(1), "waited as Retry-After asked before the second attempt")
            #expect(harness.simulator.stats.snapshot.faultedCalls == 2)
            let write = try await gateway.post("/v1/unsubscribes", phoneNumbers: Self.numbers)
            #expect(write.status == 429)
            #expect(write.headers[.retryAfter] == "1")
            #expect(write.problem?.notSent == Self.normalized, "a throttled call was not applied")
            #expect(write.problem?.unconfirmed == [])
        }
    }

    @Test func doesNotWaitForARetryAfterBeyondTheDeadline() async throws {
        let harness = GatewayHarness(
            simulator: SimulatorConfiguration(faults: FaultSettings(throttleRate: 1, retryAfterSeconds: 30)),
            cache: .disabled,
            resilience: Self.retrying
        )
        try await harness.run { gateway in
            let started = ContinuousClock.now
            let answer = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(answer.status == 429)
            #expect(answer.headers[.retryAfter] == "30")
            #expect(ContinuousClock.now - started < .seconds(10), "did not wait the 30 s asked for")
            #expect(harness.simulator.stats.snapshot.faultedCalls == 1)
        }
    }

    @Test func answers504AtTheDeadlineWhenSENSIsSlower() async throws {
        let harness = GatewayHarness(
            simulator: SimulatorConfiguration(faults: FaultSettings(latencyMilliseconds: 5_000)),
            cache: .disabled,
            resilience: ResilienceSettings.defaults.with {
                $0.deadlineMilliseconds = 800
                $0.maxAttempts = 3
                $0.breakerMinimumCalls = 1_000
                $0.breakerWindow = max($0.breakerWindow, $0.breakerMinimumCalls)
            }
        )
        try await harness.run { gateway in
            let started = ContinuousClock.now
            let answer = try await gateway.get("/v1/unsubscribes/01012345678")
            let elapsed = ContinuousClock.now - started
            #expect(answer.status == 504)
            #expect(answer.problem?.detail == "the request's deadline passed before SENS answered")
            #expect(
                elapsed >= .milliseconds(750) && elapsed < .seconds(4),
                "answered at the 800 ms deadline, not after SENS's 5 s"
            )
            let write = try await gateway.delete("/v1/unsubscribes", phoneNumbers: Self.numbers)
            #expect(write.status == 504)
            #expect(write.problem?.unconfirmed == Self.normalized, "the call was out when the deadline passed")
        }
    }

    /// AsyncHTTPClient keeps retrying a refused connection until the connect timeout, so each attempt costs
    /// that long; the answer still comes within the deadline, after at most three attempts.
    @Test func answers503WithinTheDeadlineWhenSENSRefusesConnections() async throws {
        let statistics = ResilienceStatistics()
        var sens = stubSENSSettings(port: 9)
        sens.connectTimeoutMilliseconds = 300
        // Three attempts of 300 ms and their back-off take about 1.3 s; the deadline leaves room for a loaded CI
        // machine (2 s was once not enough there, with the other suites running at the same time).
        let resilience = ResilienceSettings.defaults.with {
            $0.deadlineMilliseconds = 5_000
            $0.maxAttempts = 3
            $0.breakerMinimumCalls = 1_000
            $0.breakerWindow = max($0.breakerWindow, $0.breakerMinimumCalls)
        }
        try await GatewayHarness.runGateway(
            sens: sens,
            cache: .disabled,
            resilience: resilience,
            resilienceStatistics: statistics
        ) { gateway in
            let started = ContinuousClock.now
            let answer = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(answer.status == 503)
            #expect(answer.problem?.detail.hasPrefix("SENS is unreachable (could not connect to SENS") == true)
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect((1...3).contains(statistics.snapshot.attempts["unavailable"] ?? 0))
            let write = try await gateway.delete("/v1/unsubscribes", phoneNumbers: Self.numbers)
            #expect(write.status == 503)
            #expect(write.problem?.done == [])
            #expect(write.problem?.notSent == Self.normalized, "no connection was made: nothing was applied")
        }
    }

    @Test func retriesATransientFailureAndSucceeds() async throws {
        let sens = ScriptedUnsubscribes(failing: [1: .unavailable("SENS answered 503"), 2: .failed(status: 500)])
        let statistics = ResilienceStatistics()
        try await runRouter(
            sens: ResilientUnsubscribes(
                upstream: sens,
                policy: ResilienceSettings.defaults.retryPolicy,
                breaker: ResilienceSettings.defaults.circuitBreaker(),
                bulkhead: ResilienceSettings.defaults.bulkhead(),
                metrics: statistics
            )
        ) { gateway in
            let answer = try await gateway.post("/v1/unsubscribes", phoneNumbers: ["01012345678"])
            #expect(answer.status == 200)
            #expect(sens.calls == 3)
            #expect(statistics.snapshot.retries == 2)
        }
    }

    @Test func neverRetriesOther4xx() async throws {
        let harness = GatewayHarness(cache: .disabled, resilience: Self.retrying)
        let wrongKeys: @Sendable (inout SENSServiceSettings) -> Void = {
            $0.credentials = NCPCredentials(accessKey: "ACCESS_KEY_ID", secretKey: NCPSecretKey("wrong"))
        }
        try await harness.run(adjust: wrongKeys) { gateway in
            let answer = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(answer.status == 502)
            #expect(harness.simulator.stats.snapshot.rejectedCalls == 1)
        }
    }

    /// The breaker opens after consecutive failures, answers 503 at once without calling SENS, half-opens after
    /// the cool-down with one probe, and closes when it succeeds.
    @Test func opensAndRecoversTheCircuit() async throws {
        let resilience = ResilienceSettings.defaults.with {
            $0.deadlineMilliseconds = 2_000
            $0.maxAttempts = 3
            $0.breakerMinimumCalls = 3
            $0.breakerCooldownMilliseconds = 400
            $0.breakerWindow = max($0.breakerWindow, $0.breakerMinimumCalls)
        }
        let harness = GatewayHarness(
            simulator: SimulatorConfiguration(faults: FaultSettings(failureRate: 1, failureStatus: 503)),
            cache: .disabled,
            resilience: resilience
        )
        try await harness.run { gateway in
            #expect(try await gateway.get("/v1/unsubscribes/01012345678").status == 503)  // three failures: opens
            #expect(harness.simulator.stats.snapshot.faultedCalls == 3)
            let refused = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(refused.status == 503)
            #expect(refused.headers[.retryAfter] == "1")
            #expect(refused.problem?.detail.contains("circuit open") == true)
            #expect(harness.simulator.stats.snapshot.faultedCalls == 3, "no SENS call while open")

            harness.simulator.faults.settings = .none
            try await Task.sleep(for: .milliseconds(450))
            #expect(try await gateway.get("/v1/unsubscribes/01012345678").status == 200)  // the probe
            #expect(try await gateway.get("/v1/unsubscribes/01012345678").status == 200)
            #expect(
                harness.resilienceStatistics.snapshot.breakerStates == [.closed, .open, .halfOpen, .closed],
                "the initial state, then each change"
            )
            #expect(harness.resilienceStatistics.snapshot.rejections["circuit_open"] == 1)
        }
    }

    @Test func refusesBeyondTheBulkheadInsteadOfPilingUp() async throws {
        let resilience = ResilienceSettings.defaults.with {
            $0.maxAttempts = 1
            $0.breakerMinimumCalls = 1_000
            $0.maxConcurrentCalls = 1
            $0.maxQueuedCalls = 1
            $0.breakerWindow = max($0.breakerWindow, $0.breakerMinimumCalls)
        }
        let harness = GatewayHarness(
            simulator: SimulatorConfiguration(faults: FaultSettings(latencyMilliseconds: 400)),
            cache: .disabled,
            resilience: resilience
        )
        try await harness.run { gateway in
            let statuses = try await PooledClient.with(port: try #require(gateway.port)) { pooled in
                try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                    for index in 0..<4 {
                        group.addTask {
                            let answer = try await pooled.send(.GET, "/v1/unsubscribes/0101111000\(index)")
                            return (answer.status, answer.headers[.retryAfter])
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            #expect(statuses.filter { $0.0 == 200 }.count == 2, "one running, one queued: \(statuses)")
            #expect(statuses.filter { $0 == (503, "1") }.count == 2, "the rest refused with Retry-After: \(statuses)")
            #expect(harness.resilienceStatistics.snapshot.rejections["overloaded"] == 2)
        }
    }

    @Test(arguments: [
        (
            Data([
                0x7B, 0x22, 0x70, 0x68, 0x6F, 0x6E, 0x65, 0x4E, 0x75, 0x6D, 0x62, 0x65, 0x72, 0x73, 0x22, 0x3A, 0x5B,
                0x22, 0xFF, 0xFE, 0x22, 0x5D, 0x7D,
            ]), "invalid UTF-8"
        ),
        (Data((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8), "deep nesting"),
        (
            Data(
                ("{\"phoneNumbers\":[" + String(repeating: "{\"a\":", count: 3_000) + "1"
                    + String(repeating: "}", count: 3_000) + "]}").utf8
            ), "deep nesting inside"
        ),
    ])
    func refusesHostileBodiesWith400(body: Data, what: String) async throws {
        try await GatewayHarness().run { gateway in
            let answer = try await gateway.send(.post, "/v1/unsubscribes", bytes: Array(body))
            #expect(answer.status == 400, "\(what): \(answer.body.prefix(200))")
            #expect(answer.problem != nil)
        }
    }

    @Test func closesTheConnectionOfAClientThatStalls() async throws {
        let harness = GatewayHarness()
        try await harness.run(idleTimeoutSeconds: 1) { gateway in
            let port = try #require(gateway.port)
            let script = """
                import socket, sys, time
                s = socket.create_connection(("127.0.0.1", \(port)))
                s.sendall(b"POST /v1/unsubscribes HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 100\\r\\n\\r\\n{")
                s.settimeout(5)
                start = time.monotonic()
                data = s.recv(4096)
                print("closed after %.1fs with %d bytes" % (time.monotonic() - start, len(data)))
                sys.exit(0 if time.monotonic() - start < 4 else 1)
                """
            let (status, output) = try await runProcess("/usr/bin/env", ["python3", "-c", script])
            #expect(status == 0, "\(output)")
        }
    }
}
