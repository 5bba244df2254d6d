import HTTPTypes
import NIOHTTP1
import OptOuts
import SENSClient
import SENSCore
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Synchronization
import Testing

@Suite("Gateway query cache")
struct GatewayCacheTests {
    static let start: Int64 = 1_700_000_000_000

    @Test func aRepeatedCheckCostsOneUpstreamCallWithinTheTTL() async throws {
        let clock = TestClock(Self.start)
        let harness = GatewayHarness(clock: clock)
        try await harness.run { gateway in
            let first = try await gateway.get("/v1/unsubscribes/010-1234-5678")
            #expect(first.headers[.xCache] == "MISS")
            #expect(first.headers[.age] == "0")
            clock.set(Self.start + 42_500)
            let second = try await gateway.get("/v1/unsubscribes/+82%2010%201234%205678")
            #expect(second.headers[.xCache] == "HIT")
            #expect(second.headers[.age] == "42")
            #expect(second.body == first.body)
            #expect(harness.simulator.stats.snapshot.listCalls == 1)
            #expect(
                harness.cacheStatistics.snapshot("check")
                    == .init(hits: 1, misses: 1, stale: 0, evictions: 0, entries: 1)
            )
        }
    }

    @Test func aHundredConcurrentIdenticalChecksCostOneCall() async throws {
        // A deadline well past the 300 ms SENS takes: on a loaded CI machine the hundred answers can take seconds to
        // go out, and this test is about the one call, not the answers' speed.
        let resilience = ResilienceSettings.defaults.with {
            $0.deadlineMilliseconds = 30_000
            $0.maxAttempts = 1
            $0.breakerMinimumCalls = 1_000
            $0.breakerWindow = max($0.breakerWindow, $0.breakerMinimumCalls)
        }
        let harness = GatewayHarness(
            simulator: SimulatorConfiguration(faults: FaultSettings(latencyMilliseconds: 300)),
            resilience: resilience
        )
        try await harness.run { gateway in
            let statuses = try await PooledClient.with(port: try #require(gateway.port)) { pooled in
                try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                    for _ in 0..<100 {
                        group.addTask {
                            let answer = try await pooled.send(.GET, "/v1/unsubscribes/01012345678")
                            return (answer.status, answer.headers[.xCache])
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            #expect(statuses.count == 100)
            // Those that joined the call are a MISS; on a loaded machine a request can arrive after the answer was
            // cached, a HIT. Either way SENS was asked once.
            #expect(
                statuses.allSatisfy { $0.0 == 200 && ($0.1 == "MISS" || $0.1 == "HIT") },
                "\(statuses.filter { $0.0 != 200 || ($0.1 != "MISS" && $0.1 != "HIT") })"
            )
            #expect(harness.simulator.stats.snapshot.listCalls == 1)
        }
    }

    @Test func concurrentFailuresAreSharedToo() async throws {
        let harness = GatewayHarness(
            simulator: SimulatorConfiguration(
                faults: FaultSettings(latencyMilliseconds: 300, failureRate: 1, failureStatus: 503)
            )
        )
        try await harness.run { gateway in
            let statuses = try await PooledClient.with(port: try #require(gateway.port)) { pooled in
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<20 {
                        group.addTask { try await pooled.send(.GET, "/v1/unsubscribes/01012345678").status }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            #expect(statuses == Array(repeating: 503, count: 20))
            #expect(harness.simulator.stats.snapshot.faultedCalls == 1)
        }
    }

    @Test func registerThenCheckAndRemoveThenCheckNeedNoExtraCall() async throws {
        let clock = TestClock(Self.start)
        let harness = GatewayHarness(clock: clock)
        try await harness.run { gateway in
            let before = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(try before.decode(StatusJSON.self).optedOut == false)
            #expect(harness.simulator.stats.snapshot.listCalls == 1)

            #expect(try await gateway.post("/v1/unsubscribes", phoneNumbers: ["010-1234-5678"]).status == 200)
            let afterRegister = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(afterRegister.headers[.xCache] == "HIT")
            #expect(
                try afterRegister.decode(StatusJSON.self)
                    == StatusJSON(
                        phoneNumber: "01012345678",
                        optedOut: true,
                        registeredAt: "2023-11-15T07:13:20.000+09:00",
                        source: "manual"
                    )
            )

            #expect(try await gateway.delete("/v1/unsubscribes", phoneNumbers: ["01012345678"]).status == 200)
            let afterRemove = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(afterRemove.headers[.xCache] == "HIT")
            #expect(try afterRemove.decode(StatusJSON.self).optedOut == false)

            // A number never checked before is cached by the write too.
            #expect(try await gateway.post("/v1/unsubscribes", phoneNumbers: ["02-123-4567"]).status == 200)
            #expect(try await gateway.get("/v1/unsubscribes/021234567").headers[.xCache] == "HIT")
            #expect(harness.simulator.stats.snapshot.listCalls == 1)
        }
    }

    @Test func anExpiredEntryIsFetchedAgain() async throws {
        let clock = TestClock(Self.start)
        let harness = GatewayHarness(clock: clock)
        try await harness.run { gateway in
            _ = try await gateway.get("/v1/unsubscribes/01012345678")
            clock.set(Self.start + 59_999)
            #expect(try await gateway.get("/v1/unsubscribes/01012345678").headers[.xCache] == "HIT")
            // Opted out behind the gateway's back (e.g. by ARS): visible once the entry expires.
            harness.simulator.store.register(["01012345678"], type: .ars, at: Self.start + 30_000)
            clock.set(Self.start + 60_000)
            let refetched = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(refetched.headers[.xCache] == "MISS")
            #expect(try refetched.decode(StatusJSON.self).source == "ars")
            #expect(harness.simulator.stats.snapshot.listCalls == 2)
        }
    }

    @Test func servesARecentEntryAsStaleWhenSENSFailsButNotAnOldOne() async throws {
        let clock = TestClock(Self.start)
        let harness = GatewayHarness(clock: clock)
        harness.simulator.store.register(["01012345678"], type: .manual, at: Self.start)
        try await harness.run { gateway in
            _ = try await gateway.get("/v1/unsubscribes/01012345678")
            _ = try await gateway.get("/v1/unsubscribes?pageSize=10")
            harness.simulator.faults.settings = FaultSettings(failureRate: 1, failureStatus: 503)

            clock.set(Self.start + 299_000)  // expired (TTL 60 s), younger than 5 minutes
            let stale = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(stale.status == 200)
            #expect(stale.headers[.xCache] == "STALE")
            #expect(stale.headers[.age] == "299")
            #expect(try stale.decode(StatusJSON.self).optedOut == true)
            let stalePage = try await gateway.get("/v1/unsubscribes?pageSize=10")
            #expect(stalePage.headers[.xCache] == "STALE")

            clock.set(Self.start + 300_000)  // 5 minutes old: no longer served
            let failed = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(failed.status == 503)
            #expect(harness.cacheStatistics.snapshot("check").stale == 1)
        }
    }

    @Test func evictsTheLeastRecentlyUsedEntry() async throws {
        let harness = GatewayHarness(cache: CacheSettings.defaults.with { $0.maxEntries = 3 })
        try await harness.run { gateway in
            let (a, b, c, d) = ("01011110001", "01011110002", "01011110003", "01011110004")
            for number in [a, b, c, a, d] { _ = try await gateway.get("/v1/unsubscribes/\(number)") }
            #expect(harness.simulator.stats.snapshot.listCalls == 4)
            #expect(harness.cacheStatistics.snapshot("check").evictions == 1)
            #expect(harness.cacheStatistics.snapshot("check").entries == 3)
            #expect(try await gateway.get("/v1/unsubscribes/\(a)").headers[.xCache] == "HIT")
            #expect(try await gateway.get("/v1/unsubscribes/\(c)").headers[.xCache] == "HIT")
            #expect(
                try await gateway.get("/v1/unsubscribes/\(b)").headers[.xCache] == "MISS",
                "b was least recently used"
            )
        }
    }

    @Test func noCacheGoesUpstreamAndRefreshesTheEntry() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway in
            _ = try await gateway.get("/v1/unsubscribes/01012345678")
            harness.simulator.store.register(["01012345678"], type: .ars, at: Self.start)
            let refreshed = try await gateway.send(
                .get,
                "/v1/unsubscribes/01012345678",
                headers: [.cacheControl: "max-age=0, No-Cache"]
            )
            #expect(refreshed.headers[.xCache] == "MISS")
            #expect(try refreshed.decode(StatusJSON.self).optedOut == true)
            let next = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(next.headers[.xCache] == "HIT")
            #expect(try next.decode(StatusJSON.self).optedOut == true)
            #expect(harness.simulator.stats.snapshot.listCalls == 2)
        }
    }

    @Test func listPagesAreCachedAndDroppedByAnyWrite() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway in
            #expect(try await gateway.get("/v1/unsubscribes?pageSize=5").headers[.xCache] == "MISS")
            #expect(try await gateway.get("/v1/unsubscribes?pageSize=5").headers[.xCache] == "HIT")
            #expect(
                try await gateway.get("/v1/unsubscribes?pageSize=6").headers[.xCache] == "MISS",
                "another query, another entry"
            )
            _ = try await gateway.post("/v1/unsubscribes", phoneNumbers: ["01012345678"])
            let after = try await gateway.get("/v1/unsubscribes?pageSize=5")
            #expect(after.headers[.xCache] == "MISS")
            #expect(try after.decode(PageJSON.self).items.map(\.phoneNumber) == ["01012345678"])
            #expect(harness.simulator.stats.snapshot.listCalls == 3)
        }
    }

    @Test func aZeroTTLTurnsTheCacheOff() async throws {
        let harness = GatewayHarness(cache: CacheSettings.defaults.with { $0.ttlMilliseconds = 0 })
        try await harness.run { gateway in
            for _ in 0..<3 {
                let answer = try await gateway.get("/v1/unsubscribes/01012345678")
                #expect(answer.headers[.xCache] == "MISS")
            }
            #expect(harness.simulator.stats.snapshot.listCalls == 3)
        }
    }

    /// A check whose SENS call started before a register, and answers after it, must not overwrite what the
    /// register made true.
    @Test func aSlowCheckAnswerCannotOverwriteANewerWrite() async throws {
        let sens = GatedUnsubscribes()
        try await runRouter(sens: sens, cache: .defaults) { gateway in
            try await PooledClient.with(port: try #require(gateway.port)) { pooled in
                async let slowCheck = pooled.send(.GET, "/v1/unsubscribes/01012345678")
                try await sens.waitForListCall()
                let registered = try await pooled.send(
                    .POST,
                    "/v1/unsubscribes",
                    json: #"{"phoneNumbers":["01012345678"]}"#
                )
                #expect(registered.status == 200)
                sens.releaseList()  // answers "not opted out", from before the register
                #expect(try await slowCheck.decode(StatusJSON.self).optedOut == false)
            }
            let now = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(try now.decode(StatusJSON.self).optedOut == true)
            #expect(now.headers[.xCache] == "HIT")
            #expect(sens.listCalls == 1)
        }
    }

    /// When a write fails, SENS may or may not have applied it: those numbers are asked again.
    @Test func aFailedWriteForgetsItsNumbers() async throws {
        let sens = ScriptedUnsubscribes(failOnCall: 2, with: .unavailable("SENS answered 503"))
        try await runRouter(sens: sens, cache: .defaults) { gateway in
            _ = try await gateway.get("/v1/unsubscribes/01012345678")  // call 1: cached as not opted out
            // Call 2 fails.
            #expect(try await gateway.post("/v1/unsubscribes", phoneNumbers: ["01012345678"]).status == 503)
            #expect(try await gateway.get("/v1/unsubscribes/01012345678").headers[.xCache] == "MISS")
            #expect(sens.calls == 3)
        }
    }
}

extension HTTPField.Name {
    static let xCache = Self("X-Cache")!
}
