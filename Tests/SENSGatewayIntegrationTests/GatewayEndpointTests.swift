import Foundation
import HTTPTypes
import OptOuts
import SENSClient
import SENSCore
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Testing

@Suite("Gateway endpoints over loopback, with the simulator as SENS")
struct GatewayEndpointTests {
    @Test func registerCheckListRemoveRoundTrip() async throws {
        let clock = TestClock(1_700_000_000_271)  // 2023-11-15T07:13:20.271 in Seoul
        let harness = GatewayHarness(clock: clock)
        try await harness.run { gateway in
            let registered = try await gateway.post(
                "/v1/unsubscribes",
                phoneNumbers: ["010-1234-5678", "+82 2 123 4567", "01012345678"]
            )
            #expect(registered.status == 200)
            let body = try registered.decode(RegisterJSON.self)
            #expect(body.count == 2)
            #expect(
                body.registered == [
                    OptOutJSON(
                        phoneNumber: "01012345678",
                        registeredAt: "2023-11-15T07:13:20.271+09:00",
                        source: "manual"
                    ),
                    OptOutJSON(
                        phoneNumber: "021234567",
                        registeredAt: "2023-11-15T07:13:20.271+09:00",
                        source: "manual"
                    ),
                ]
            )

            let check = try await gateway.get("/v1/unsubscribes/%2B82%2010-1234-5678")
            #expect(check.status == 200)
            #expect(
                try check.decode(StatusJSON.self)
                    == StatusJSON(
                        phoneNumber: "01012345678",
                        optedOut: true,
                        registeredAt: "2023-11-15T07:13:20.271+09:00",
                        source: "manual"
                    )
            )
            let other = try await gateway.get("/v1/unsubscribes/01099998888")
            #expect(try other.decode(StatusJSON.self) == StatusJSON(phoneNumber: "01099998888", optedOut: false))

            let page = try await gateway.get("/v1/unsubscribes")
            #expect(page.status == 200)
            let listed = try page.decode(PageJSON.self)
            #expect(Set(listed.items.map(\.phoneNumber)) == ["01012345678", "021234567"])
            #expect((listed.page, listed.pageSize, listed.nextPage) == (0, 100, nil))
            #expect(!page.body.contains("nextPage"))

            let removed = try await gateway.delete(
                "/v1/unsubscribes",
                phoneNumbers: ["(02) 123-4567", "010-5555-6666"]
            )
            #expect(removed.status == 200)
            let removal = try removed.decode(RemoveJSON.self)
            #expect(removal.removed == ["021234567", "01055556666"])
            #expect(removal.count == 2)
            let after = try await gateway.get("/v1/unsubscribes/021234567")
            #expect(try after.decode(StatusJSON.self).optedOut == false)
            #expect(harness.simulator.store.count == 1)
            #expect(harness.simulator.stats.snapshot.rejectedCalls == 0, "every upstream call was signed correctly")
        }
    }

    @Test func reportsARSOptOutsAsSourceARS() async throws {
        let harness = GatewayHarness()
        harness.simulator.store.register(["01077776666"], type: .ars, at: 1_700_000_000_000)
        try await harness.run { gateway in
            let check = try await gateway.get("/v1/unsubscribes/010-7777-6666")
            #expect(try check.decode(StatusJSON.self).source == "ars")
        }
    }

    @Test func chunksTwentyFiveHundredNumbersIntoThreeSignedCalls() async throws {
        let harness = GatewayHarness()
        let numbers = mobileNumbers(2_500)
        try await harness.run { gateway in
            // Written in a caller's format, with a repeat, to show both survive the chunking.
            let formatted = numbers.map {
                "+82 " + $0.dropFirst().prefix(2) + "-" + $0.dropFirst(3).prefix(4) + "-" + $0.suffix(4)
            }
            let answer = try await gateway.post("/v1/unsubscribes", phoneNumbers: formatted + [formatted[0]])
            #expect(answer.status == 200)
            let body = try answer.decode(RegisterJSON.self)
            #expect(body.count == 2_500)
            let inOrderOnceEach = body.registered.map(\.phoneNumber) == numbers
            #expect(inOrderOnceEach)
            let stats = harness.simulator.stats.snapshot
            #expect(stats.registerCalls == 3)
            #expect(stats.rejectedCalls == 0)
            #expect(harness.simulator.store.count == 2_500)

            let removed = try await gateway.delete("/v1/unsubscribes", phoneNumbers: numbers)
            #expect(try removed.decode(RemoveJSON.self).count == 2_500)
            #expect(harness.simulator.stats.snapshot.deleteCalls == 3)
            #expect(harness.simulator.store.count == 0)
        }
    }

    @Test func pagesAndFiltersByTime() async throws {
        let harness = GatewayHarness()
        let numbers = mobileNumbers(5)
        let base: Int64 = 1_700_000_000_000  // 2023-11-15T07:13:20+09:00
        for (offset, number) in numbers.enumerated() {
            harness.simulator.store.register([number], type: .manual, at: base + Int64(offset) * 60_000)
        }
        try await harness.run { gateway in
            let first = try await gateway.get("/v1/unsubscribes?pageSize=2").decode(PageJSON.self)
            #expect(first.items.map(\.phoneNumber) == [numbers[4], numbers[3]])
            #expect(first.nextPage == 1)
            let last = try await gateway.get("/v1/unsubscribes?pageSize=2&page=2").decode(PageJSON.self)
            #expect(last.items.map(\.phoneNumber) == [numbers[0]])
            #expect(last.nextPage == nil)

            // 07:14:20+09:00 to 22:16:20Z the day before: minutes 1 to 3, both ends included.
            let window = try await gateway.get(
                "/v1/unsubscribes?from=2023-11-15T07:14:20%2B09:00&to=2023-11-14T22:16:20.000Z"
            )
            #expect(window.status == 200)
            #expect(try window.decode(PageJSON.self).items.map(\.phoneNumber) == [numbers[3], numbers[2], numbers[1]])
            let spaceForPlus = try await gateway.get("/v1/unsubscribes?from=2023-11-15T07:17:20+09:00")
            #expect(try spaceForPlus.decode(PageJSON.self).items.map(\.phoneNumber) == [numbers[4]])
            let one = try await gateway.get(
                "/v1/unsubscribes?phoneNumber=\(numbers[2])&from=2023-11-15T07:14:20%2B09:00"
            )
            #expect(try one.decode(PageJSON.self).items.map(\.phoneNumber) == [numbers[2]])
        }
    }

    @Test func servesTheOpenAPIDocumentItWasBuiltFrom() async throws {
        let file = try String(contentsOfFile: repositoryRoot() + "/openapi.yaml", encoding: .utf8)
        try await GatewayHarness().run { gateway in
            let answer = try await gateway.get("/openapi.yaml")
            #expect(answer.status == 200)
            #expect(answer.headers[.contentType] == "application/yaml")
            #expect(answer.body == file)
            let health = try await gateway.get("/healthz")
            #expect(health.status == 200)
            #expect(health.body.contains("\"ok\""))
        }
    }
}

/// The package's root folder, found from this file's path.
func repositoryRoot(file: String = #filePath) -> String {
    var components = file.split(separator: "/", omittingEmptySubsequences: false)
    components.removeLast(3)  // Tests/SENSGatewayTests/<file>
    return components.joined(separator: "/")
}
