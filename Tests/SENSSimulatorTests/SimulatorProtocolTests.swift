import HTTPTypes
import SENSCore
import SENSSimulator
import SENSTestSupport
import Testing

@Suite("SENS simulator over loopback HTTP")
struct SimulatorProtocolTests {
    @Test func registerListDeleteRoundTrip() async throws {
        let clock = TestClock(1_700_000_000_000)  // 2023-11-15T07:13:20.000 in Seoul
        let harness = SimulatorHarness(clock: clock)
        try await harness.run { client in
            let registered = try await client.call(
                .post,
                harness.path,
                numbers: ["01011112222", "0212345678", "01011112222"]
            )
            #expect(registered.status == 200)
            let records = try registered.decode([SENSUnsubscribeRecord].self)
            #expect(
                records == [
                    SENSUnsubscribeRecord(
                        clientTelNo: "01011112222",
                        registerType: .manual,
                        registerTime: "2023-11-15T07:13:20.000"
                    ),
                    SENSUnsubscribeRecord(
                        clientTelNo: "0212345678",
                        registerType: .manual,
                        registerTime: "2023-11-15T07:13:20.000"
                    ),
                ]
            )

            let listed = try await client.call(.get, harness.path)
            #expect(listed.status == 200)
            #expect(
                Set(try listed.decode([SENSUnsubscribeRecord].self).map(\.clientTelNo)) == [
                    "01011112222", "0212345678",
                ]
            )

            let one = try await client.call(.get, harness.path + "?clientTelNo=0212345678")
            #expect(try one.decode([SENSUnsubscribeRecord].self).map(\.clientTelNo) == ["0212345678"])

            let deleted = try await client.call(.delete, harness.path, numbers: ["0212345678", "01099998888"])
            #expect(deleted.status == 204)
            #expect(deleted.body.isEmpty)

            let after = try await client.call(.get, harness.path + "?clientTelNo=0212345678")
            #expect(after.status == 200)
            #expect(after.body == "[]")
            #expect(harness.simulator.store.count == 1)
            let stats = harness.simulator.stats.snapshot
            #expect((stats.registerCalls, stats.listCalls, stats.deleteCalls) == (1, 3, 1))
        }
    }

    @Test func reRegisteringKeepsTheOriginalRecord() async throws {
        let clock = TestClock(1_700_000_000_000)
        let harness = SimulatorHarness(clock: clock)
        try await harness.run { client in
            _ = try await client.call(.post, harness.path, numbers: ["01011112222"])
            clock.set(1_700_000_060_000)
            let again = try await client.call(.post, harness.path, numbers: ["01011112222", "01033334444"])
            #expect(again.status == 200)
            let records = try again.decode([SENSUnsubscribeRecord].self)
            #expect(records.map(\.registerTime) == ["2023-11-15T07:13:20.000", "2023-11-15T07:14:20.000"])
            #expect(harness.simulator.store.count == 2)
        }
    }

    @Test func refusesBadSignaturesKeysAndMissingHeaders() async throws {
        let harness = SimulatorHarness()
        try await harness.run { client in
            let wrongSecret = NCPCredentials(
                accessKey: SimulatorConfiguration.defaultAccessKey,
                secretKey: NCPSecretKey("WRONG")
            )
            let wrongAccess = NCPCredentials(
                accessKey: "OTHER_ACCESS_KEY",
                secretKey: NCPSecretKey(SimulatorConfiguration.defaultSecretKey)
            )
            for response in [
                try await client.call(.get, harness.path, signWith: wrongSecret),
                try await client.call(.get, harness.path, signWith: wrongAccess),
                try await client.call(.post, harness.path, numbers: ["01011112222"], signWith: wrongSecret),
                try await client.unsigned(.get, harness.path),
            ] {
                #expect(response.status == 401)
                #expect(response.gatewayError?.errorCode == "200")
                #expect(response.gatewayError?.message == "Authentication Failed")
            }
            // A signature over a different target than the one sent is refused.
            let signedForOther = NCPSigner(credentials: client.credentials)
                .sign(
                    method: "GET",
                    pathAndQuery: harness.path + "?pageSize=1",
                    timestampMilliseconds: client.clock.nowMilliseconds()
                )
            var headers = HTTPFields()
            for field in signedForOther.fields { headers[HTTPField.Name(field.name)!] = field.value }
            #expect(try await client.unsigned(.get, harness.path + "?pageSize=2", headers: headers).status == 401)
            #expect(harness.simulator.store.count == 0)
            #expect(harness.simulator.stats.snapshot.rejectedCalls == 5)
        }
    }

    @Test func enforcesTheFiveMinuteTimestampWindow() async throws {
        let now: Int64 = 1_700_000_000_000
        let harness = SimulatorHarness(clock: TestClock(now))
        let fiveMinutes: Int64 = 300_000
        try await harness.run { client in
            for (offset, expected) in [
                (-fiveMinutes, 401), (fiveMinutes, 401), (-fiveMinutes + 1, 200), (fiveMinutes - 1, 200), (0, 200),
            ] {
                let response = try await client.call(.get, harness.path, timestamp: now + offset)
                #expect(response.status == expected, "offset \(offset)")
                if expected == 401 { #expect(response.gatewayError?.details == "Invalid timestamp.") }
            }
            #expect(try await client.call(.get, harness.path, headers: [:]).status == 200)
        }
    }

    @Test func limitsRegisterAndDeleteToAThousandItems() async throws {
        let harness = SimulatorHarness()
        try await harness.run { client in
            let tooMany = try await client.call(.post, harness.path, numbers: mobileNumbers(1_001))
            #expect(tooMany.status == 400)
            #expect(tooMany.serviceError?.errorMessage.contains("1000") == true)
            #expect(harness.simulator.store.count == 0)

            let thousand = try await client.call(.post, harness.path, numbers: mobileNumbers(1_000))
            #expect(thousand.status == 200)
            #expect(try thousand.decode([SENSUnsubscribeRecord].self).count == 1_000)

            #expect(try await client.call(.delete, harness.path, numbers: mobileNumbers(1_001)).status == 400)
            #expect(harness.simulator.store.count == 1_000)
            #expect(try await client.call(.delete, harness.path, numbers: mobileNumbers(1_000)).status == 204)
            #expect(harness.simulator.store.count == 0)
        }
    }

    @Test(arguments: [
        ("[]", "At least one"), ("{\"clientTelNo\":\"01011112222\"}", "JSON array"), ("not json", "JSON array"),
        ("[{\"clientTelNo\":1012345678}]", "JSON array"), ("[{\"clientTelNo\":\"010-1111-2222\"}]", "index 0"),
        ("[{\"clientTelNo\":\"01011112222\"},{\"clientTelNo\":\"\"}]", "index 1"),
    ])
    func refusesMalformedBodies(body: String, message: String) async throws {
        let harness = SimulatorHarness()
        try await harness.run { client in
            for method in [HTTPRequest.Method.post, .delete] {
                let response = try await client.call(method, harness.path, rawBody: body)
                #expect(response.status == 400)
                #expect(response.serviceError?.errorMessage.contains(message) == true, "\(response.body)")
            }
            #expect(harness.simulator.store.count == 0)
        }
    }

    @Test func pagesNewestFirstWithoutOverlap() async throws {
        let harness = SimulatorHarness()
        let numbers = mobileNumbers(250)
        for (offset, number) in numbers.enumerated() {
            harness.simulator.store.register([number], type: .manual, at: 1_700_000_000_000 + Int64(offset) * 1_000)
        }
        try await harness.run { client in
            var seen: [String] = []
            for (page, expectedCount) in [(0, 100), (1, 100), (2, 50), (3, 0)] {
                let response = try await client.call(.get, harness.path + "?pageSize=100&pageIndex=\(page)")
                #expect(response.status == 200)
                let records = try response.decode([SENSUnsubscribeRecord].self)
                #expect(records.count == expectedCount)
                seen += records.map(\.clientTelNo)
            }
            #expect(seen == numbers.reversed())
            let defaultPage = try await client.call(.get, harness.path)
            #expect(try defaultPage.decode([SENSUnsubscribeRecord].self).count == 100)
            let small = try await client.call(.get, harness.path + "?pageSize=7&pageIndex=1")
            #expect(
                try small.decode([SENSUnsubscribeRecord].self).map(\.clientTelNo) == Array(numbers.reversed()[7..<14])
            )
        }
    }

    @Test(arguments: [
        "pageSize=0", "pageSize=101", "pageSize=x", "pageIndex=-1", "startTime=abc", "endTime=-5",
        "clientTelNo=010-1111", "startTime=10&endTime=5",
    ])
    func refusesBadListParameters(query: String) async throws {
        let harness = SimulatorHarness()
        try await harness.run { client in
            let response = try await client.call(.get, harness.path + "?" + query)
            #expect(response.status == 400)
            #expect(response.serviceError != nil)
        }
    }

    @Test func filtersOnRegistrationTimeInclusively() async throws {
        let harness = SimulatorHarness()
        let base: Int64 = 1_700_000_000_000
        for (index, number) in mobileNumbers(10).enumerated() {
            harness.simulator.store.register(
                [number],
                type: index.isMultiple(of: 2) ? .ars : .manual,
                at: base + Int64(index) * 60_000
            )
        }
        try await harness.run { client in
            let window = try await client.call(
                .get,
                harness.path + "?startTime=\(base + 120_000)&endTime=\(base + 300_000)"
            )
            let records = try window.decode([SENSUnsubscribeRecord].self)
            #expect(records.map(\.clientTelNo) == Array(mobileNumbers(10)[2...5].reversed()))
            #expect(records.map(\.registerType) == [.manual, .ars, .manual, .ars])
            let from = try await client.call(.get, harness.path + "?startTime=\(base + 540_000)")
            #expect(try from.decode([SENSUnsubscribeRecord].self).count == 1)
            let until = try await client.call(.get, harness.path + "?endTime=\(base)")
            #expect(try until.decode([SENSUnsubscribeRecord].self).map(\.clientTelNo) == [mobileNumbers(1)[0]])
            let combined = try await client.call(
                .get,
                harness.path + "?clientTelNo=\(mobileNumbers(10)[3])&startTime=\(base + 240_000)"
            )
            #expect(try combined.decode([SENSUnsubscribeRecord].self).isEmpty)
        }
    }

    @Test func answersUnknownServicesAndRoutesLikeTheGateway() async throws {
        let harness = SimulatorHarness()
        try await harness.run { client in
            let otherService = try await client.call(
                .get,
                "/sms/v2/services/ncp:sms:kr:999999999999:other/unsubscribes"
            )
            #expect(otherService.status == 404)
            #expect(otherService.gatewayError?.errorCode == "300")
            let unknownRoute = try await client.call(.get, "/sms/v2/services/x/messages")
            #expect(unknownRoute.status == 404)
            #expect(unknownRoute.gatewayError?.errorCode == "300")
            #expect(try await client.call(.put, harness.path).status == 404)
        }
    }
}
