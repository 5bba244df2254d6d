import AsyncHTTPClient
import Foundation
import GatewayAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SENSClient
import SENSSimulator
import SENSTestSupport
import Synchronization
import Testing

/// The gateway's OpenTelemetry traces, exported to a local OTLP/HTTP receiver: the request's span under the
/// caller's `traceparent`, the SENS attempt's under it, its context sent to SENS, the store's and the syncs' spans,
/// the trace id on the request's log line, and no phone number anywhere in what is exported.
@Suite("Traces", .serialized)
struct TracingTests {
    static let callerTrace = "0af7651916cd43dd8448eb211c80319c"
    static let callerSpan = "b7ad6b7169203331"

    @Test func exportsSpansAcrossTheSENSCallUnderTheCallersTrace() async throws {
        let receiver = OTLPReceiver()
        try await receiver.application.test(.live) { receiverClient in
            let receiverPort = try #require(receiverClient.port)
            try await MirrorHarness().withSimulator { session in
                try await session.seed(count: 50)
                let process = try GatewayProcess(
                    [],
                    environment: [
                        "SENS_ACCESS_KEY": SimulatorConfiguration.defaultAccessKey,
                        "SENS_SECRET_KEY": SimulatorConfiguration.defaultSecretKey,
                        "SENS_SERVICE_ID": SimulatorConfiguration.defaultServiceID,
                        "SENS_BASE_URL": session.baseURL.text, "HTTP_PORT": "0", "MIRROR_PATH": ":memory:",
                        "MIRROR_SYNC_INTERVAL_SECONDS": "1", "MIRROR_MAX_STALENESS_SECONDS": "5",
                        "MIRROR_VERIFY_INTERVAL_SECONDS": "1",
                        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(receiverPort)",
                        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_BSP_SCHEDULE_DELAY": "100",
                        "OTEL_SERVICE_NAME": "gateway-under-test",
                    ]
                )
                let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
                do {
                    try await check(process, receiver: receiver, session: session, http: http)
                } catch {
                    try? await http.shutdown()
                    throw error
                }
                try await http.shutdown()
            }
        }
    }

    /// `text` in `body` with what precedes it, for a failure's message.
    static func around(_ text: String, in body: String) -> String {
        guard let range = body.range(of: text) else { return "" }
        let start = body.index(range.lowerBound, offsetBy: -300, limitedBy: body.startIndex) ?? body.startIndex
        return String(body[start..<range.upperBound])
    }

    func check(
        _ process: GatewayProcess,
        receiver: OTLPReceiver,
        session: SimulatorSession,
        http: HTTPClient
    ) async throws {
        let gateway = GatewayClient(port: try await process.listeningPort(), http: http)
        try await gateway.waitForMirror(seconds: 30) { $0.records == 50 }
        #expect(process.standardOutput.contains("traces exported over OTLP/HTTP"))

        var headers = HTTPFields()
        headers[HTTPField.Name("traceparent")!] = "00-\(Self.callerTrace)-\(Self.callerSpan)-01"
        let register = try await gateway.send(
            .post,
            "/v1/unsubscribes",
            json: #"{"phoneNumbers":["010-9876-5432"]}"#,
            headers: headers
        )
        #expect(register.status == 200, "\(register.body)")
        let requestID = try #require(register.headers[HTTPField.Name("X-Request-Id")!])

        // The request's span, under the caller's; the SENS attempt's and the store's under it.
        let spans = try await receiver.waitFor { spans in
            spans.contains { $0.traceID == Self.callerTrace && $0.name == "SENS register" }
                && spans.contains { $0.name == "mirror sync window" }
        }
        let server = try #require(spans.first { $0.traceID == Self.callerTrace && $0.kind == 2 })
        #expect(server.name == "POST /v1/unsubscribes")
        #expect(server.parentSpanID == Self.callerSpan)
        #expect(server.attributes["http.route"] == "/v1/unsubscribes")
        #expect(server.attributes["http.response.status_code"] == "200")
        #expect(server.attributes["sens_gateway.request_id"] == requestID)
        let call = try #require(spans.first { $0.traceID == Self.callerTrace && $0.name == "SENS register" })
        #expect(call.kind == 3 && call.parentSpanID == server.spanID)
        #expect(call.attributes["sens.attempt"] == "1" && call.attributes["sens.outcome"] == "success")
        let store = spans.filter { $0.traceID == Self.callerTrace && $0.name.hasPrefix("mirror store ") }
        #expect(store.contains { $0.name == "mirror store apply" && $0.parentSpanID == server.spanID })
        #expect(store.allSatisfy { $0.attributes["db.system.name"] == "sqlite" })

        // SENS got the attempt's context.
        #expect(
            session.simulator.stats.snapshot.traceparents.contains("00-\(Self.callerTrace)-\(call.spanID)-01")
        )

        // A sync's span holds its SENS calls and the windows it stored.
        let window = try #require(spans.first { $0.name == "mirror sync window" })
        let sync = try #require(spans.first { $0.spanID == window.parentSpanID })
        #expect(sync.name.hasPrefix("mirror sync ") && sync.parentSpanID == nil)
        #expect(spans.contains { $0.name == "SENS list" && $0.traceID == sync.traceID })
        #expect(window.attributes["sens_gateway.window.records"] != nil)

        // The request's log line carries its id and its trace.
        let line = process.standardOutput.split(separator: "\n").first {
            $0.contains("request_id=\(requestID)") && $0.contains("route=/v1/unsubscribes ")
        }
        #expect(line?.contains("trace_id=\(Self.callerTrace)") == true, "\(line ?? "no request line")")

        #expect(try await process.stop() == 0)
        // No phone number in any export, in any form.
        for body in receiver.bodies {
            #expect(!body.contains("98765432") && !body.contains("9876-5432"), "\(Self.around("98765432", in: body))")
        }
    }
}

/// An OTLP/HTTP receiver of JSON exports (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`): keeps every body and the spans
/// in them.
final class OTLPReceiver: Sendable {
    private let received = Mutex<(bodies: [String], spans: [ExportedSpan])>(([], []))

    var bodies: [String] { received.withLock { $0.bodies } }

    var application: some ApplicationProtocol {
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            self.keep(String(buffer: body))
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: "{}"))
            )
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    private func keep(_ body: String) {
        let spans = (try? JSONDecoder().decode(Export.self, from: Data(body.utf8)))?.spans ?? []
        received.withLock {
            $0.bodies.append(body)
            $0.spans += spans
        }
    }

    /// The spans received once `condition` holds of them; waits 15 s at most.
    func waitFor(_ condition: ([ExportedSpan]) -> Bool) async throws -> [ExportedSpan] {
        let deadline = ContinuousClock.now + .seconds(15)
        while true {
            let spans = received.withLock { $0.spans }
            if condition(spans) { return spans }
            guard ContinuousClock.now < deadline else {
                Issue.record("the spans awaited did not arrive: \(spans.map(\.name))")
                return spans
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// OTLP's JSON: ids in base64, 64-bit integers as strings, `kind` as a number (2 server, 3 client).
    private struct Export: Decodable {
        var resourceSpans: [ResourceSpans]?
        struct ResourceSpans: Decodable { var scopeSpans: [ScopeSpans]? }
        struct ScopeSpans: Decodable { var spans: [Span]? }
        struct Span: Decodable {
            var traceId: String
            var spanId: String
            var parentSpanId: String?
            var name: String
            var kind: Int?
            var attributes: [Attribute]?
        }
        struct Attribute: Decodable {
            var key: String
            var value: Value
            struct Value: Decodable {
                var stringValue: String?
                var intValue: String?
                var boolValue: Bool?
            }
        }

        var spans: [ExportedSpan] {
            (resourceSpans ?? []).flatMap { ($0.scopeSpans ?? []).flatMap { $0.spans ?? [] } }.map { span in
                ExportedSpan(
                    traceID: Self.hex(span.traceId),
                    spanID: Self.hex(span.spanId),
                    parentSpanID: span.parentSpanId.flatMap { $0.isEmpty ? nil : Self.hex($0) },
                    name: span.name,
                    kind: span.kind ?? 0,
                    attributes: Dictionary(
                        (span.attributes ?? []).map {
                            (
                                $0.key,
                                $0.value.stringValue ?? $0.value.intValue ?? $0.value.boolValue.map { "\($0)" } ?? ""
                            )
                        },
                        uniquingKeysWith: { $1 }
                    )
                )
            }
        }

        static func hex(_ base64: String) -> String {
            (Data(base64Encoded: base64) ?? Data()).map { String(format: "%02x", $0) }.joined()
        }
    }
}

/// A span as the receiver got it, ids in hex.
struct ExportedSpan: Sendable {
    var traceID: String
    var spanID: String
    var parentSpanID: String?
    var name: String
    var kind: Int
    var attributes: [String: String]
}
