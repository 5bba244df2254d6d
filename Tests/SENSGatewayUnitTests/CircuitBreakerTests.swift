import SENSClient
import SENSCore
import SENSTestSupport
import Testing

@testable import OptOuts
@testable import SENSGateway

@Suite("Circuit breaker")
struct CircuitBreakerTests {
    @Test func staysClosedWhileOneCallInFiveFails() {
        let breaker = ResilienceSettings.defaults.circuitBreaker()
        for call in 1...10_000 {
            if call.isMultiple(of: 5) { breaker.recordFailure() } else { breaker.recordSuccess() }
        }
        #expect(breaker.state == .closed)
    }

    @Test func opensWhenHalfTheWindowFailsOnceEnoughCallsWereSeen() throws {
        let breaker = CircuitBreaker(minimumCalls: 20, failurePercent: 50, windowSize: 100, cooldown: .seconds(60))
        for _ in 1...19 { breaker.recordFailure() }
        #expect(breaker.state == .closed, "fewer than the minimum calls")
        breaker.recordFailure()
        #expect(breaker.state == .open)
        #expect(throws: SENSError.circuitOpen(retryAfterSeconds: 60)) { try breaker.permit() }
    }

    @Test func forgetsFailuresThatLeftTheWindow() {
        let breaker = CircuitBreaker(minimumCalls: 10, failurePercent: 50, windowSize: 10, cooldown: .seconds(60))
        for _ in 1...4 { breaker.recordFailure() }
        for _ in 1...10 { breaker.recordSuccess() }
        for _ in 1...4 { breaker.recordFailure() }
        #expect(breaker.state == .closed, "4 of the last 10")
        breaker.recordFailure()
        #expect(breaker.state == .open, "5 of the last 10")
    }

    /// A probe that was never sent (the bulkhead refused it) neither closes the circuit nor blocks the next probe.
    @Test func aReleasedProbeRecordsNothing() async throws {
        let breaker = CircuitBreaker(minimumCalls: 1, failurePercent: 100, windowSize: 1, cooldown: .milliseconds(50))
        breaker.recordFailure()
        try await Task.sleep(for: .milliseconds(80))
        try breaker.permit()
        breaker.releasePermit()
        #expect(breaker.state == .halfOpen)
        try breaker.permit()
        #expect(throws: SENSError.self) { try breaker.permit() }
    }

    @Test func letsOneProbeThroughAfterTheCooldown() async throws {
        let breaker = CircuitBreaker(minimumCalls: 1, failurePercent: 100, windowSize: 1, cooldown: .milliseconds(50))
        breaker.recordFailure()
        #expect(breaker.state == .open)
        try await Task.sleep(for: .milliseconds(80))
        try breaker.permit()
        #expect(breaker.state == .halfOpen)
        #expect(throws: SENSError.self) { try breaker.permit() }  // one probe at a time
        breaker.recordFailure()
        #expect(breaker.state == .open, "a failed probe reopens")
        try await Task.sleep(for: .milliseconds(80))
        try breaker.permit()
        breaker.recordSuccess()
        #expect(breaker.state == .closed)
        try breaker.permit()
    }

    /// A call the request's deadline stopped before it went out says nothing about SENS: it neither opens the
    /// breaker nor uses up its probe.
    @Test func aCallNeverSentIsNotAnOutage() async {
        let breaker = CircuitBreaker(minimumCalls: 1, failurePercent: 50, windowSize: 1, cooldown: .seconds(5))
        let sens = ResilientUnsubscribes(
            upstream: ScriptedUnsubscribes(failing: [
                1: .timedOut(.deadline(sent: false)),
                2: .timedOut(.deadline(sent: false)),
            ]),
            policy: RetryPolicy(maxAttempts: 1),
            breaker: breaker,
            bulkhead: ResilienceSettings.defaults.bulkhead()
        )
        for _ in 0..<2 {
            await #expect(throws: SENSError.timedOut(.deadline(sent: false))) { try await sens.list(SENSListQuery()) }
        }
        #expect(breaker.state == .closed)
        let records = try? await sens.list(SENSListQuery())
        #expect(records == [])
    }
}
