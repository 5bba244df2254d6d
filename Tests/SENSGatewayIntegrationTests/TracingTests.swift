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
                        "OTEL_BSP_SCHEDULE_DELAY": "100",
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

/// An OTLP/HTTP receiver (`http/protobuf`): keeps every export's bytes and the spans in them.
final class OTLPReceiver: Sendable {
    private let received = Mutex<(bodies: [String], spans: [ExportedSpan])>(([], []))

    /// Each export's bytes, as Latin-1 text: the strings in it are UTF-8 as they are, for a search.
    var bodies: [String] { received.withLock { $0.bodies } }

    var application: some ApplicationProtocol {
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            self.keep(Array(body.readableBytesView))
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"])
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    private func keep(_ body: [UInt8]) {
        let spans = OTLPTraces.spans(in: body)
        received.withLock {
            $0.bodies.append(String(body.map { Character(Unicode.Scalar($0)) }))
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
}

/// The spans of an OTLP `ExportTraceServiceRequest`, read straight from the protobuf wire format (the fields the
/// tests look at): request.resource_spans(1) → scope_spans(2) → spans(2) → trace_id(1), span_id(2),
/// parent_span_id(4), name(5), kind(6), attributes(9) → key(1), value(2) → string(1), bool(2), int(3).
enum OTLPTraces {
    static func spans(in request: [UInt8]) -> [ExportedSpan] {
        fields(request[...]).filter { $0.number == 1 }.flatMap { resource in
            fields(resource.bytes).filter { $0.number == 2 }.flatMap { scope in
                fields(scope.bytes).filter { $0.number == 2 }.map { span(fields($0.bytes)) }
            }
        }
    }

    private static func span(_ fields: [Field]) -> ExportedSpan {
        func bytes(_ number: Int) -> ArraySlice<UInt8>? { fields.last { $0.number == number }?.bytes }
        func hex(_ bytes: ArraySlice<UInt8>?) -> String? {
            bytes.flatMap { $0.isEmpty ? nil : $0.map { String(format: "%02x", $0) }.joined() }
        }
        var attributes: [String: String] = [:]
        for attribute in fields.filter({ $0.number == 9 }) {
            let pair = Self.fields(attribute.bytes)
            guard let key = pair.first(where: { $0.number == 1 }),
                let value = pair.first(where: { $0.number == 2 }).map({ Self.fields($0.bytes) })?.first
            else { continue }
            attributes[String(decoding: key.bytes, as: UTF8.self)] =
                switch value.number {
                case 1: String(decoding: value.bytes, as: UTF8.self)
                case 2: value.varint == 1 ? "true" : "false"
                default: String(Int64(bitPattern: value.varint))
                }
        }
        return ExportedSpan(
            traceID: hex(bytes(1)) ?? "",
            spanID: hex(bytes(2)) ?? "",
            parentSpanID: hex(bytes(4)),
            name: bytes(5).map { String(decoding: $0, as: UTF8.self) } ?? "",
            kind: Int(fields.last { $0.number == 6 }?.varint ?? 0),
            attributes: attributes
        )
    }

    /// One field of a message: its number, and its bytes (length-delimited) or its value (varint).
    private struct Field {
        var number: Int
        var bytes: ArraySlice<UInt8> = []
        var varint: UInt64 = 0
    }

    private static func fields(_ message: ArraySlice<UInt8>) -> [Field] {
        var fields: [Field] = []
        var index = message.startIndex
        func varint() -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while index < message.endIndex {
                let byte = message[index]
                index += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte < 0x80 { break }
                shift += 7
            }
            return value
        }
        while index < message.endIndex {
            let key = varint()
            var field = Field(number: Int(key >> 3))
            switch key & 7 {
            case 0: field.varint = varint()
            case 1: index += 8
            case 2:
                let length = Int(varint())
                field.bytes = message[index..<min(index + length, message.endIndex)]
                index += length
            case 5: index += 4
            default: return fields
            }
            fields.append(field)
        }
        return fields
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
