import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import OptOuts
import SENSCore
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
import OptOuts
import SENSClient
#endif

/// Requests that would otherwise be answered as if they meant something else, and what each route answers
/// whatever `Accept` says.
@Suite("Gateway request edges: Accept, HEAD, bodies, parameters")
struct GatewayRequestEdgeTests {
    static let acceptValues: [String?] = [
        nil, "*/*", "application/json", "application/problem+json", "text/html",
        "application/json;q=0", "application/xml",
    ]

    /// Every route answers its own media type for every `Accept`; a write SENS applied is reported done.
    @Test(arguments: acceptValues)
    func acceptNeverTurnsAnAnswerIntoAnError(accept: String?) async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway in
            var headers = HTTPFields()
            if let accept { headers[.accept] = accept }
            let json = "application/json; charset=utf-8"
            let problem = "application/problem+json"
            let cases: [(HTTPRequest.Method, String, String?, Int, String)] = [
                (.post, "/v1/unsubscribes", #"{"phoneNumbers":["010-1234-5678"]}"#, 200, json),
                (.get, "/v1/unsubscribes/010-1234-5678", nil, 200, json),
                (.get, "/v1/unsubscribes", nil, 200, json),
                (.delete, "/v1/unsubscribes/010-1234-5678", nil, 200, json),
                (.post, "/v1/unsubscribes", #"{"phoneNumbers":["010-1234-5678"]}"#, 200, json),
                (.delete, "/v1/unsubscribes", #"{"phoneNumbers":["010-1234-5678"]}"#, 200, json),
                (.post, "/v1/unsubscribes", #"{"phoneNumbers":["010-1234-567x"]}"#, 422, problem),
                (.get, "/v1/unsubscribes?pageSize=0", nil, 400, problem),
                (.get, "/v1/unsubscribes/12", nil, 400, problem),
                (.get, "/healthz", nil, 200, json),
                (.get, "/readyz", nil, 200, json),
                (.get, "/metrics", nil, 200, "text/plain"),
                (.get, "/openapi.yaml", nil, 200, "application/yaml"),
                (.get, "/nowhere", nil, 404, problem),
            ]
            for (method, path, body, status, type) in cases {
                let answer = try await gateway.send(method, path, json: body, headers: headers)
                #expect(answer.status == status, "\(method) \(path) with Accept \(accept ?? "none")")
                #expect(
                    answer.headers[.contentType]?.hasPrefix(type) == true,
                    "\(method) \(path): \(answer.headers[.contentType] ?? "-")"
                )
                if status == 422 { #expect(answer.problem?.errors?.count == 1, "the per-item errors are kept") }
            }
            #expect(harness.simulator.store.count == 0, "registered, removed, registered, removed: every write applied")
        }
    }

    @Test func headAnswersLikeGetWithoutABody() async throws {
        try await GatewayHarness().run { gateway in
            // AsyncHTTPClient, which reads a HEAD answer's headers without waiting for the body they describe.
            try await PooledClient.with(port: try #require(gateway.port)) { client in
                for path in [
                    "/healthz", "/readyz", "/metrics", "/openapi.yaml", "/v1/unsubscribes",
                    "/v1/unsubscribes/01012345678",
                ] {
                    let get = try await client.send(.GET, path)
                    let head = try await client.send(.HEAD, path)
                    #expect(head.status == get.status, "HEAD \(path)")
                    #expect(head.body.isEmpty)
                    #expect(head.headers[.contentType] == get.headers[.contentType])
                    if path != "/metrics" {  // the metrics text grows between the two requests
                        #expect(
                            head.headers[.contentLength] == String(get.body.utf8.count),
                            "HEAD \(path) gives GET's length"
                        )
                    }
                }
                let unknownHead = try await client.send(.HEAD, "/v1/unsubscribes/01012345678?x=1")
                #expect(unknownHead.status == 400)
            }
            let notAllowed = try await gateway.send(.put, "/v1/unsubscribes/01012345678")
            #expect(notAllowed.status == 405)
            #expect(notAllowed.headers[.allow] == "GET, HEAD, DELETE")
        }
    }

    /// Each of these used to be answered as a different, valid request.
    @Test(arguments: [
        ("/v1/unsubscribes/", "phoneNumber", "must not be empty"),
        (
            "/v1/unsubscribes?phonenumber=01012345678", "phonenumber",
            "unknown query parameter; this operation takes phoneNumber, from, to, page, pageSize"
        ),
        ("/v1/unsubscribes?page=1&page=2", "page", "given more than once"),
        (
            "/v1/unsubscribes/01012345678?refresh=1", "refresh",
            "unknown query parameter; this operation takes no query parameters"
        ),
        ("/healthz?verbose", "verbose", "unknown query parameter; this operation takes no query parameters"),
        ("/v1/unsubscribes/%ZZ", "phoneNumber", "bad percent-encoding"),
        ("/v1/unsubscribes/010%E0%A4", "phoneNumber", "bad percent-encoding"),
        ("/v1/unsubscribes?phoneNumber=%G1", "phoneNumber", "bad percent-encoding"),
        ("/v1/unsubscribes?pageSize=+5", "pageSize", "must be an integer"),
    ])
    func refusesRequestsThatMeanSomethingElse(path: String, parameter: String, reason: String) async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway in
            let answer = try await gateway.get(path)
            #expect(answer.status == 400)
            let problem = try #require(answer.problem)
            #expect(problem.invalidParams == [.init(name: parameter, reason: reason)])
            #expect(problem.detail == "\(parameter): \(reason)")
            #expect(harness.simulator.stats.snapshot.totalCalls == 0, "nothing sent to SENS")
        }
    }

    /// `Expect: 100-continue` is answered at once (clients otherwise wait a second before sending), and a
    /// chunked body is refused with 413 as soon as it passes the limit, like a fixed-length one: nothing is sent.
    @Test func boundsChunkedBodiesLikeFixedLengthOnes() async throws {
        let harness = GatewayHarness()
        try await harness.run(maxBodyBytes: 4_096) { gateway in
            let connection = try RawHTTPConnection(port: try #require(gateway.port))
            try connection.send(
                "POST /v1/unsubscribes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
            )
            #expect(
                try await connection.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 100 Continue\r\n"),
                "answered before any body is sent"
            )
            let chunk = String(repeating: "x", count: 1_000)
            var answer = ""
            // Chunk by chunk, looking for the answer after each: it comes once the fifth passes the 4,096 bytes.
            for _ in 0..<8 where !answer.contains("\r\n\r\n") {
                do { try connection.send(String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n") } catch {
                    break
                }
                answer += try await connection.read(until: "\r\n\r\n", waitingAtMost: 300)
            }
            if !answer.contains("\r\n\r\n") { answer += try await connection.read(until: "\r\n\r\n") }
            #expect(answer.hasPrefix("HTTP/1.1 413 "), "\(answer.prefix(80))")
            #expect(answer.contains("application/problem+json"))

            // A request bound for 404 is not invited to send its body.
            let nowhere = try RawHTTPConnection(port: try #require(gateway.port))
            try nowhere.send(
                "POST /v1/nowhere HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n"
            )
            #expect(
                try await nowhere.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 404 "),
                "the final answer, not 100 Continue"
            )

            let declared = try RawHTTPConnection(port: try #require(gateway.port))
            try declared.send(
                "POST /v1/unsubscribes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n"
            )
            let refused = try await declared.read(until: "\r\n\r\n")
            #expect(refused.hasPrefix("HTTP/1.1 413 "), "a declared length over the limit: no 100, a 413")

            // Without Expect: refused as soon as the limit passes, then the connection is closed, ending the upload.
            let plain = try RawHTTPConnection(port: try #require(gateway.port))
            try plain.send(
                "POST /v1/unsubscribes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n"
            )
            var plainAnswer = ""
            for _ in 0..<8 where !plainAnswer.contains("\r\n\r\n") {
                do { try plain.send(String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n") } catch { break }
                plainAnswer += try await plain.read(until: "\r\n\r\n", waitingAtMost: 300)
            }
            if !plainAnswer.contains("\r\n\r\n") { plainAnswer += try await plain.read(until: "\r\n\r\n") }
            #expect(plainAnswer.hasPrefix("HTTP/1.1 413 "))
            #expect(try await plain.readsToEnd(within: 5_000), "the gateway closes the connection after a 413")

            let small = try await gateway.send(
                .post,
                "/v1/unsubscribes",
                json: #"{"phoneNumbers":["010-1234-5678"]}"#,
                headers: [.expect: "100-continue"]
            )
            #expect(small.status == 200)
            #expect(harness.simulator.stats.snapshot.registerCalls == 1, "only the small body reached SENS")
        }
    }

    @Test func refusesStrayAmpersandsAndLooseBodyHeaders() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway in
            for path in ["/v1/unsubscribes?&", "/v1/unsubscribes?&&pageSize=2"] {
                let answer = try await gateway.get(path)
                #expect(answer.status == 400)
                #expect(answer.problem?.detail == "the query has an empty parameter (a stray '&')")
            }
            let body = Array(#"{"phoneNumbers":["010-1234-5678"]}"#.utf8)
            let untyped = try await gateway.exchange("/v1/unsubscribes", .post, [:], ByteBuffer(bytes: body))
            #expect(untyped.status == 415)
            let twice = try await gateway.exchange(
                "/v1/unsubscribes",
                .post,
                [.contentType: "text/plain", HTTPField.Name("Content-Type")!: "application/json"],
                ByteBuffer(bytes: body)
            )
            #expect(twice.status == 400)
            let encoded = try await gateway.send(
                .post,
                "/v1/unsubscribes",
                bytes: body,
                headers: [.contentEncoding: "br"]
            )
            #expect(encoded.status == 415)
            #expect(encoded.problem?.detail == "Content-Encoding br is not accepted: send the body unencoded")
            #expect(harness.simulator.stats.snapshot.totalCalls == 0)
        }
    }

    /// A body trickled a byte at a time is cut off at the request deadline, not held open.
    @Test func closesAConnectionWhoseBodyDoesNotArriveInTime() async throws {
        let harness = GatewayHarness(
            resilience: ResilienceSettings.defaults.with {
                $0.deadlineMilliseconds = 500
                $0.maxAttempts = 1
                $0.breakerMinimumCalls = 1_000
                $0.breakerWindow = max($0.breakerWindow, $0.breakerMinimumCalls)
            }
        )
        try await harness.run { gateway in
            let connection = try RawHTTPConnection(port: try #require(gateway.port))
            try connection.send(
                "POST /v1/unsubscribes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            )
            var closed = false
            for _ in 0..<40 where !closed {
                do { try connection.send("{") } catch { closed = true }
                if !closed { closed = try await connection.readsToEnd(within: 100) }
            }
            #expect(closed, "closed at the 0.5 s deadline, well before the 40 bytes (4 s) the client would send")
        }
    }

    /// A chunked DELETE whose body is empty is a DELETE without a body.
    @Test func acceptsAnEmptyChunkedBodyOnTheSingleRemove() async throws {
        try await GatewayHarness().run { gateway in
            let connection = try RawHTTPConnection(port: try #require(gateway.port))
            try connection.send(
                "DELETE /v1/unsubscribes/010-1234-5678 HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            )
            #expect(try await connection.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 200 "))
        }
    }

    @Test func refusesRepeatedJSONKeysAndBodiesWhereNoneIsTaken() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway in
            let repeated = try await gateway.send(
                .post,
                "/v1/unsubscribes",
                json: #"{"phoneNumbers":["010-1234-5678"],"phone\u004eumbers":["02-123-4567"]}"#
            )
            #expect(repeated.status == 400)
            #expect(repeated.problem?.detail == "phoneNumbers: the key appears more than once")
            let nested = try await gateway.send(.delete, "/v1/unsubscribes", json: #"{"phoneNumbers":[{"a":1,"a":2}]}"#)
            #expect(nested.status == 400)
            #expect(
                nested.problem?.detail == "phoneNumbers[0]: expected a string",
                "refused before any key inside it is read"
            )
            let bodyOnSingleDelete = try await gateway.send(
                .delete,
                "/v1/unsubscribes/01012345678",
                json: #"{"phoneNumbers":["01099998888"]}"#
            )
            #expect(bodyOnSingleDelete.status == 400)
            #expect(bodyOnSingleDelete.problem?.detail == "DELETE /v1/unsubscribes/{phoneNumber} takes no body")
            #expect(harness.simulator.stats.snapshot.totalCalls == 0)
        }
    }

    @Test func trimsPastedWhitespaceAndCallsShortInputTooShort() async throws {
        try await GatewayHarness().run { gateway in
            let pasted = try await gateway.post(
                "/v1/unsubscribes",
                phoneNumbers: ["\t010-1234-5678\r\n", "\u{FEFF}02-123-4567 ", "010-2222-3333\n"]
            )
            #expect(pasted.status == 200)
            #expect(
                try pasted.decode(RegisterJSON.self).registered.map(\.phoneNumber) == [
                    "01012345678", "021234567", "01022223333",
                ]
            )
            let short = try await gateway.post("/v1/unsubscribes", phoneNumbers: ["１２３", "010-1234-5678"])
            #expect(short.status == 422)
            #expect(
                short.problem?.errors == [
                    .init(index: 0, input: "１２３", code: "too_short", reason: "too short to be a Korean phone number")
                ]
            )
        }
    }

    /// A number removed on its own, without a body: same validation, audit and cache coherence as the bulk
    /// remove, and idempotent.
    @Test func removesOneNumberByPath() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway in
            #expect(try await gateway.post("/v1/unsubscribes", phoneNumbers: ["010-1234-5678"]).status == 200)
            #expect(try await gateway.get("/v1/unsubscribes/01012345678").decode(StatusJSON.self).optedOut)
            let removed = try await gateway.send(.delete, "/v1/unsubscribes/010-1234-5678")
            #expect(removed.status == 200)
            let result = try removed.decode(RemoveJSON.self)
            #expect(result.removed == ["01012345678"] && result.count == 1)
            #expect(
                try await gateway.get("/v1/unsubscribes/01012345678").decode(StatusJSON.self).optedOut == false,
                "the cache learned of the removal"
            )
            #expect(harness.simulator.store.count == 0)
            let again = try await gateway.send(.delete, "/v1/unsubscribes/%2B82%2010%201234%205678")
            #expect(again.status == 200, "removing a number that is not listed succeeds")
            let invalid = try await gateway.send(.delete, "/v1/unsubscribes/080-123-4567")
            #expect(invalid.status == 400)
            #expect(invalid.problem?.invalidParams?.first?.name == "phoneNumber")
        }
    }
}
