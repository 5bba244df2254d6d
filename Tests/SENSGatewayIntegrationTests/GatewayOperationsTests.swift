import HTTPTypes
import OptOuts
import SENSClient
import SENSCore
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Testing

@Suite("Gateway operations: metrics and readiness")
struct GatewayOperationsTests {
    @Test func exportsTheNamedSeriesAfterTraffic() async throws {
        let harness = GatewayHarness(metrics: GatewayMetrics())
        try await harness.run { gateway in
            #expect(
                try await gateway.post("/v1/unsubscribes", phoneNumbers: ["010-1234-5678", "02-123-4567"]).status == 200
            )
            _ = try await gateway.get("/v1/unsubscribes/01099998888")  // miss
            _ = try await gateway.get("/v1/unsubscribes/01099998888")  // hit
            _ = try await gateway.get("/v1/unsubscribes?pageSize=10")
            _ = try await gateway.get("/v1/unsubscribes/not-a-number")  // 400
            let scrape = try await gateway.get("/metrics")
            #expect(scrape.status == 200)
            #expect(scrape.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = scrape.body
            for series in [
                #"http_server_requests_total{route="/v1/unsubscribes",method="POST",status="200"} 1"#,
                #"http_server_requests_total{route="/v1/unsubscribes/{phoneNumber}",method="GET",status="200"} 2"#,
                #"http_server_requests_total{route="/v1/unsubscribes/{phoneNumber}",method="GET",status="400"} 1"#,
                #"http_server_request_duration_seconds_bucket{route="/v1/unsubscribes",method="GET",status="200",le="+Inf"} 1"#,
                #"sens_upstream_calls_total{service="default",operation="register",outcome="success"} 1"#,
                #"sens_upstream_calls_total{service="default",operation="list",outcome="success"} 2"#,
                #"sens_upstream_call_duration_seconds_count{service="default",operation="list",outcome="success"} 2"#,
                #"sens_gateway_numbers_written_total{service="default",operation="register"} 2"#,
                #"cache_hits_total{service="default",cache="check"} 1"#,
                #"cache_misses_total{service="default",cache="check"} 1"#,
                #"cache_misses_total{service="default",cache="list"} 1"#,
                #"cache_entries{service="default",cache="check"} 3"#,
                #"sens_circuit_breaker_state{service="default"} 0"#,
            ] {
                #expect(text.contains(series), "missing: \(series)")
            }
            for number in ["01012345678", "021234567", "01099998888"] {
                #expect(!text.contains(number), "a phone number in the metrics")
            }
        }
    }

    @Test func isNotReadyWhileTheCircuitIsOpenAndReadyAfterRecovery() async throws {
        let resilience = ResilienceSettings.defaults.with {
            $0.maxAttempts = 1
            $0.breakerMinimumCalls = 2
            $0.breakerCooldownMilliseconds = 300
            $0.breakerWindow = max($0.breakerWindow, $0.breakerMinimumCalls)
        }
        let harness = GatewayHarness(
            simulator: SimulatorConfiguration(faults: FaultSettings(failureRate: 1, failureStatus: 503)),
            cache: .disabled,
            resilience: resilience,
            metrics: GatewayMetrics()
        )
        try await harness.run { gateway in
            let ready = try await gateway.get("/readyz")
            #expect(ready.status == 200)
            #expect(
                ready.body
                    == #"{"services":[{"mirror":"disabled","name":"default","status":"ready"}],"status":"ready"}"#
            )
            _ = try await gateway.get("/v1/unsubscribes/01012345678")
            _ = try await gateway.get("/v1/unsubscribes/01012345678")
            let notReady = try await gateway.get("/readyz")
            #expect(notReady.status == 503)
            #expect(notReady.body.contains("the SENS circuit breaker is open"))
            #expect(
                try await gateway.get("/metrics").body.contains(#"sens_circuit_breaker_state{service="default"} 2"#)
            )
            #expect(try await gateway.get("/healthz").status == 200, "alive all the same")

            harness.simulator.faults.settings = .none
            try await Task.sleep(for: .milliseconds(350))
            #expect(try await gateway.get("/v1/unsubscribes/01012345678").status == 200)  // the probe closes it
            #expect(try await gateway.get("/readyz").status == 200)
            #expect(
                try await gateway.get("/metrics").body.contains(#"sens_circuit_breaker_state{service="default"} 0"#)
            )
        }
    }
}
