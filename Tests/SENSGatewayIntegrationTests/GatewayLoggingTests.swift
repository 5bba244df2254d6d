import Foundation
import HTTPTypes
import Logging
import OptOuts
import SENSClient
import SENSCore
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Synchronization
import Testing

@Suite("Gateway logs: request ids, audit lines, masking")
struct GatewayLoggingTests {
    @Test func logsTheRequestIdAndAnAuditLineWithMaskedNumbersOnly() async throws {
        let capture = LogCapture()
        let secret = SimulatorConfiguration.defaultSecretKey
        try await GatewayHarness().run(logger: capture.logger) { gateway in
            let registered = try await gateway.send(
                .post,
                "/v1/unsubscribes",
                json: #"{"phoneNumbers":["010-1234-5678","02-123-4567","010-1234-5678"]}"#,
                headers: [
                    HTTPField.Name("X-Request-Id")!: "req-abc.123", HTTPField.Name("X-Caller")!: "billing-service",
                ]
            )
            #expect(registered.status == 200)
            #expect(registered.headers[HTTPField.Name("X-Request-Id")!] == "req-abc.123")

            let invalid = try await gateway.send(
                .delete,
                "/v1/unsubscribes",
                json: #"{"phoneNumbers":["010-9999-888x"]}"#,
                headers: [HTTPField.Name("X-Request-Id")!: "not a sane id!"]
            )
            #expect(invalid.status == 422)
            let generated = try #require(invalid.headers[HTTPField.Name("X-Request-Id")!])
            #expect(generated.count == 32 && generated != "not a sane id!")
            let next = try #require(
                try await gateway.get("/v1/unsubscribes/010-1234-5678").headers[HTTPField.Name("X-Request-Id")!]
            )
            // Same process prefix, a later counter: distinct ids, all lowercase hex.
            #expect(next != generated && next.prefix(16) == generated.prefix(16))
            #expect((generated + next).allSatisfy { "0123456789abcdef".contains($0) })
        }
        let lines = capture.lines
        let records = try lines.map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String])
        }

        let audit = try #require(records.first { $0["message"] == "audit" && $0["request_id"] == "req-abc.123" })
        #expect(audit["audit.action"] == "register")
        #expect(audit["audit.caller"] == "billing-service")
        #expect(audit["audit.count"] == "2")
        #expect(audit["audit.numbers"] == "010****5678,021**4567")
        #expect(audit["audit.outcome"] == "ok: 2 done")
        #expect(audit["level"] == "notice")

        let refused = try #require(records.first { $0["message"] == "audit" && $0["audit.action"] == "remove" })
        #expect(refused["audit.outcome"] == "refused: 1 invalid numbers, nothing sent")
        #expect(refused["audit.caller"] == "127.0.0.1", "the peer address when the caller does not say")

        let request = try #require(records.first { $0["message"] == "request" && $0["request_id"] == "req-abc.123" })
        #expect(request["route"] == "/v1/unsubscribes")
        #expect(request["method"] == "POST")
        #expect(request["status"] == "200")
        #expect(Double(request["duration_ms"] ?? "") != nil)
        #expect(records.contains { $0["message"] == "request" && $0["route"] == "/v1/unsubscribes/{phoneNumber}" })

        for line in lines {
            for forbidden in ["01012345678", "1234-5678", "021234567", "123-4567", "9999-888", secret] {
                #expect(!line.contains(forbidden), "\(forbidden) in: \(line)")
            }
        }
    }

    /// The SENS failure, retry and breaker lines a request causes carry its id, and every line has one id only.
    @Test func linesCausedByARequestCarryItsIdOnly() async throws {
        let capture = LogCapture()
        let harness = GatewayHarness(
            simulator: SimulatorConfiguration(faults: FaultSettings(failureRate: 1, failureStatus: 503)),
            cache: .disabled,
            resilience: ResilienceSettings.defaults.with {
                $0.maxAttempts = 2
                $0.breakerMinimumCalls = 2
                $0.breakerWindow = 2
            }
        )
        try await harness.run(logger: capture.logger) { gateway in
            let answer = try await gateway.send(
                .get,
                "/v1/unsubscribes/01012345678",
                headers: [HTTPField.Name("X-Request-Id")!: "req-fail-1"]
            )
            #expect(answer.status == 503)
        }
        let records = try capture.lines.map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String])
        }
        let failures = records.filter { $0["message"] == "SENS call failed" }
        #expect(failures.count == 2, "two attempts")
        #expect(failures.allSatisfy { $0["request_id"] == "req-fail-1" && $0["service"] == "default" })
        let retry = try #require(records.first { $0["message"] == "retrying SENS call" })
        #expect(retry["request_id"] == "req-fail-1")
        #expect(retry["attempt"] == "2" && retry["operation"] == "list")
        let breaker = try #require(records.first { $0["message"] == "SENS circuit breaker changed state" })
        #expect(breaker["request_id"] == "req-fail-1")
        #expect(records.allSatisfy { $0["hb.request.id"] == nil }, "one id per line")
    }

    @Test func writesValidJSONWhateverTheMessage() throws {
        let capture = LogCapture()
        capture.logger.info("a \"quoted\"\nmulti-line\tmessage \u{1} ✓", metadata: ["key": "value with \\ and \""])
        let line = try #require(capture.lines.first)
        let record = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(record["message"] == "a \"quoted\"\nmulti-line\tmessage \u{1} ✓")
        #expect(record["key"] == "value with \\ and \"")
        #expect(record["level"] == "info")
        #expect(record["timestamp"]?.hasSuffix("+00:00") == true)
        #expect(line.hasSuffix("}\n"))
    }
}

/// Collects what a logger writes through `JSONLogHandler`.
final class LogCapture: Sendable {
    private let captured = Mutex<[String]>([])

    var lines: [String] { captured.withLock { $0 } }

    var logger: Logger {
        Logger(label: "gateway") { label in
            var handler = JSONLogHandler(label: label) { line in self.captured.withLock { $0.append(line) } }
            handler.logLevel = .info
            return handler
        }
    }
}
