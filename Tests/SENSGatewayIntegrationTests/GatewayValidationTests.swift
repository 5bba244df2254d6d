import HTTPTypes
import OptOuts
import SENSClient
import SENSCore
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Testing

@Suite("Gateway input validation")
struct GatewayValidationTests {
    /// Every accepted corpus input, in every format, reaches SENS as its normalized digits.
    @Test func everyCorpusFormatReachesSENSNormalized() async throws {
        let corpus = try PhoneCorpusCase.load()
        let accepted = corpus.filter(\.expect.accept)
        let expected = Set(accepted.compactMap(\.expect.digits))
        let harness = GatewayHarness()
        try await harness.run { gateway in
            let answer = try await gateway.post("/v1/unsubscribes", phoneNumbers: accepted.map(\.input))
            #expect(answer.status == 200)
            let registered = Set(try answer.decode(RegisterJSON.self).registered.map(\.phoneNumber))
            let sameSet = registered == expected
            #expect(sameSet, "\(registered.symmetricDifference(expected).prefix(10))")
            #expect(harness.simulator.store.count == expected.count)
            #expect(expected.allSatisfy(harness.simulator.store.contains))
            #expect(harness.simulator.stats.snapshot.registerCalls == (expected.count + 999) / 1_000)
        }
    }

    /// Every rejected corpus input is listed with its index and reason, and nothing at all is sent.
    @Test func rejectsInvalidNumbersWithoutSendingAnything() async throws {
        let corpus = try PhoneCorpusCase.load()
        let rejected = corpus.filter { !$0.expect.accept }
        let inputs = ["010-1234-5678"] + rejected.map(\.input) + ["02-123-4567"]
        let harness = GatewayHarness()
        try await harness.run { gateway in
            for answer in [
                try await gateway.post("/v1/unsubscribes", phoneNumbers: inputs),
                try await gateway.delete("/v1/unsubscribes", phoneNumbers: inputs),
            ] {
                #expect(answer.status == 422)
                #expect(answer.headers[.contentType] == "application/problem+json; charset=utf-8")
                let problem = try #require(answer.problem)
                #expect(problem.type == "urn:sens-gateway:problem:invalid-phone-numbers")
                #expect(
                    problem.detail
                        == "\(rejected.count) of \(inputs.count) phone numbers are not acceptable; nothing was sent."
                )
                let errors = try #require(problem.errors)
                #expect(errors.map(\.index) == Array(1...rejected.count))
                for (error, item) in zip(errors, rejected) {
                    if let code = item.expect.code { #expect(error.code == code, "\(item)") }
                    #expect(!error.reason.isEmpty)
                    #expect(error.input == (item.input.count > 64 ? String(item.input.prefix(64)) + "…" : item.input))
                }
            }
            #expect(harness.simulator.stats.snapshot.totalCalls == 0)
        }
    }

    @Test func explainsOneBadNumber() async throws {
        try await GatewayHarness().run { gateway in
            let answer = try await gateway.post("/v1/unsubscribes", phoneNumbers: ["010-1234-5678", "010-1234-567x"])
            let problem = try #require(answer.problem)
            #expect(problem.status == 422)
            #expect(problem.detail == "1 of 2 phone numbers is not acceptable; nothing was sent.")
            #expect(
                problem.errors == [
                    .init(
                        index: 1,
                        input: "010-1234-567x",
                        code: "unexpected_character",
                        reason: "unexpected character 'x' at position 13"
                    )
                ]
            )
        }
    }

    @Test(arguments: [
        ("{\"phoneNumbers\":[1]}", "phoneNumbers[0]: expected a string"),
        ("{\"phoneNumbers\":\"01012345678\"}", "phoneNumbers: expected an array"),
        ("{\"phoneNumbers\":[\"01012345678\"],\"force\":true}", "force: unknown field; the body takes phoneNumbers"),
        ("{}", "phoneNumbers: is required"),
        ("{\"phoneNumbers\":null}", "phoneNumbers: expected an array, found null"),
        ("{\"phoneNumbers\":[]}", "phoneNumbers must hold 1 to 10000 items, not 0"),
        ("{\"phoneNumbers\":[\"010", "the body is not valid JSON (it ends early)"),
        ("[\"01012345678\"]", "the body: expected an object"),
    ])
    func refusesMalformedBodies(json: String, detail: String) async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway in
            for method in [HTTPRequest.Method.post, .delete] {
                let answer = try await gateway.send(method, "/v1/unsubscribes", json: json)
                #expect(answer.status == 400)
                #expect(answer.problem?.detail == detail, "\(answer.body)")
            }
            #expect(harness.simulator.stats.snapshot.totalCalls == 0)
        }
    }

    @Test func refusesTooManyItemsAndLargeBodies() async throws {
        let harness = GatewayHarness()
        // The gateway closes a connection after a 413, so each request goes on a connection of its own.
        try await harness.run(maxBodyBytes: 100_000) { gateway in
            let tooMany = try await gateway.post("/v1/unsubscribes", phoneNumbers: mobileNumbers(10_001))
            #expect(tooMany.status == 413, "10,001 numbers are about 150 KB")
        }
        try await harness.run(maxBodyBytes: 100_000) { gateway in
            let over = try await gateway.post(
                "/v1/unsubscribes",
                phoneNumbers: [String(repeating: "0", count: 100_000)]
            )
            #expect(over.status == 413)
            #expect(over.problem?.detail == "the body is larger than 100000 bytes")
        }
        try await harness.run { gateway in
            let tooMany = try await gateway.post("/v1/unsubscribes", phoneNumbers: mobileNumbers(10_001))
            #expect(tooMany.status == 400)
            #expect(tooMany.problem?.detail == "phoneNumbers must hold 1 to 10000 items, not 10001")
        }
        #expect(harness.simulator.stats.snapshot.totalCalls == 0)
    }

    @Test func refusesOtherMediaTypesRoutesAndMethods() async throws {
        try await GatewayHarness().run { gateway in
            let text = try await gateway.send(
                .post,
                "/v1/unsubscribes",
                json: "{\"phoneNumbers\":[\"01012345678\"]}",
                contentType: "text/plain"
            )
            #expect(text.status == 415)
            #expect(text.problem != nil)
            let missing = try await gateway.get("/v2/unsubscribes")
            #expect(missing.status == 404)
            #expect(missing.problem?.detail == "no such route: GET /v2/unsubscribes")
            let put = try await gateway.send(.put, "/v1/unsubscribes", json: "{}")
            #expect(put.status == 405)
            #expect(put.headers[.allow] == "GET, HEAD, POST, DELETE")
            #expect(put.problem?.status == 405)
            let postOne = try await gateway.send(.post, "/v1/unsubscribes/01012345678", json: "{}")
            #expect(postOne.status == 405)
            #expect(postOne.headers[.allow] == "GET, HEAD, DELETE")
            let postHealth = try await gateway.send(.post, "/healthz")
            #expect(postHealth.status == 405)
            #expect(postHealth.headers[.allow] == "GET, HEAD")
        }
    }

    @Test(arguments: [
        ("pageSize=0", "pageSize", "must be from 1 to 100"), ("pageSize=101", "pageSize", "must be from 1 to 100"),
        ("page=-1", "page", "must be from 0 to 1000000"), ("page=x", "page", "must be an integer"),
        ("pageSize=1.5", "pageSize", "must be an integer"),
        ("from=yesterday", "from", "must be an RFC 3339 date-time, like 2025-11-26T10:11:59+09:00"),
        ("to=2025-11-26", "to", "must be an RFC 3339 date-time, like 2025-11-26T10:11:59+09:00"),
        ("from=2025-11-27T00:00:00Z&to=2025-11-26T00:00:00Z", "to", "must not be before from"),
        ("phoneNumber=080-123-4567", "phoneNumber", "080/030 toll-free numbers cannot receive text messages"),
        ("phoneNumber=%2B1%20212%20555%201234", "phoneNumber", "not a Korean number (+1)"),
    ])
    func refusesBadListParameters(query: String, name: String, reason: String) async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway in
            let answer = try await gateway.get("/v1/unsubscribes?" + query)
            #expect(answer.status == 400)
            #expect(answer.problem?.invalidParams == [.init(name: name, reason: reason)], "\(answer.body)")
            #expect(harness.simulator.stats.snapshot.totalCalls == 0)
        }
    }

    @Test func refusesABadNumberToCheck() async throws {
        try await GatewayHarness().run { gateway in
            let answer = try await gateway.get("/v1/unsubscribes/010-1234-567x")
            #expect(answer.status == 400)
            #expect(
                answer.problem?.invalidParams == [
                    .init(name: "phoneNumber", reason: "unexpected character 'x' at position 13")
                ]
            )
        }
    }
}
