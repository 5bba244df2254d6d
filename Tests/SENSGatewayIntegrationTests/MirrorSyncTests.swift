import GatewayAPI
import HTTPTypes
import OptOutMirror
import OptOuts
import SENSCore
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Synchronization
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The mirror's syncs against the simulator over real HTTP: the initial sync, incremental syncs with their
/// overlap, reconciliation, faults, restarts and staleness.
@Suite("Mirror syncs", .serialized)
struct MirrorSyncTests {
    @Test(arguments: StoreKind.allCases) func initialSyncThenIncrementalSyncsPickUpLaterRecords(
        kind: StoreKind
    ) async throws {
        try await MirrorHarness(store: kind).withSimulator { session in
            try await session.seed(count: 100_000)
            try await session.withGateway { gateway in
                let status = try await gateway.waitForMirror()
                #expect(status.records == 100_000)
                #expect(status.initialSync?.records == 100_000)
                // Windows of about 70 records: far fewer calls than one per record, more than one per 100.
                let calls = try #require(status.initialSync?.sensCalls)
                #expect((1_000...3_000).contains(calls))

                // Every record entered the feed exactly once, in order.
                let feed = try await gateway.allChanges()
                #expect(feed.changes.count == 100_000)
                #expect(Set(feed.changes.map(\.phoneNumber)).count == 100_000)
                #expect(feed.changes.allSatisfy { $0.change == .added })

                let listed = try await gateway.get("/v1/unsubscribes/010-5000-0042")
                #expect(listed.headers[.init("X-Cache")!] == "MIRROR")
                #expect(try listed.decode(StatusJSON.self).optedOut)
                let unlisted = try await gateway.get("/v1/unsubscribes/010-9999-0042")
                #expect(unlisted.headers[.init("X-Cache")!] == "MIRROR")
                #expect(try unlisted.decode(StatusJSON.self).optedOut == false)

                // Seeded behind the gateway's back: one now, one stamped two minutes ago (within the overlap,
                // older than the newest record the mirror has seen).
                let now = SystemEpochClock().nowMilliseconds()
                session.simulator.store.seed([
                    StoredUnsubscribe(clientTelNo: "01077770001", registerType: .ars, registeredAtMilliseconds: now),
                    StoredUnsubscribe(
                        clientTelNo: "01077770002",
                        registerType: .manual,
                        registeredAtMilliseconds: now - 120_000
                    ),
                ])
                try await gateway.waitForMirror(seconds: 10) { $0.records == 100_002 }
                for number in ["01077770001", "01077770002"] {
                    let answer = try await gateway.get("/v1/unsubscribes/\(number)")
                    #expect(answer.headers[.init("X-Cache")!] == "MIRROR")
                    #expect(try answer.decode(StatusJSON.self).optedOut, "\(number)")
                }
                let later = try await gateway.allChanges(after: feed.next)
                #expect(Set(later.changes.map(\.phoneNumber)) == ["01077770001", "01077770002"])
            }
        }
    }

    @Test(arguments: StoreKind.allCases) func aRemovalMadeBehindTheGatewaysBackIsFoundInAnyTimeRange(
        kind: StoreKind
    ) async throws {
        var settings = MirrorHarness.fast
        settings.reconcileInterval = .seconds(1)
        try await MirrorHarness(settings: settings, store: kind).withSimulator { session in
            try await session.seed(count: 2_000)
            try await session.withGateway { gateway in
                try await gateway.waitForMirror()
                let before = try await gateway.allChanges()
                // The first number was registered 30 days ago: far outside any incremental sync's window. A
                // verification pass finds the bucket's count short and reads it again.
                #expect(session.simulator.store.delete(["01050000000"]) == 1)
                let status = try await gateway.waitForMirror(seconds: 20) { $0.records == 1_999 }
                let answer = try await gateway.get("/v1/unsubscribes/01050000000")
                #expect(answer.headers[.init("X-Cache")!] == "MIRROR")
                #expect(try answer.decode(StatusJSON.self).optedOut == false)
                let after = try await gateway.allChanges(after: before.next)
                #expect(after.changes.map(\.phoneNumber) == ["01050000000"])
                #expect(after.changes.map(\.change) == [.removed])
                #expect(status.verification != nil)
                // The reconciliation, the backstop, runs as before and finds nothing left to remove.
                let reconciled = try await gateway.waitForMirror(seconds: 20) {
                    $0.lastReconciliationOutcome == "ok"
                        && ($0.lastReconciliationAt ?? .distantPast) > Date(timeIntervalSinceNow: -5)
                }
                #expect(reconciled.records == 1_999)
            }
        }
    }

    @Test(arguments: StoreKind.allCases) func faultsMidSyncNeitherLoseNorRepeatARecord(kind: StoreKind) async throws {
        try await MirrorHarness(store: kind).withSimulator { session in
            try await session.seed(count: 20_000)
            session.simulator.faults.settings = FaultSettings(
                failureRate: 0.1,
                dropRate: 0.03,
                truncateRate: 0.03,
                garbageRate: 0.03
            )
            try await session.withGateway { gateway in
                let status = try await gateway.waitForMirror(seconds: 180)
                #expect(status.records == 20_000)
                #expect(session.simulator.stats.snapshot.faultedCalls > 10)
                let feed = try await gateway.allChanges()
                #expect(feed.changes.count == 20_000)
                let expected = Set(
                    (0..<20_000).map { "0105" + String(repeating: "0", count: 7 - String($0).count) + String($0) }
                )
                #expect(Set(feed.changes.map(\.phoneNumber)) == expected)
            }
        }
    }

    @Test(arguments: StoreKind.allCases) func aRestartResumesTheInitialSyncFromTheStore(kind: StoreKind) async throws {
        let midway = Mutex("")
        try await StoreLocation.with(kind) { path in
            try await MirrorHarness(store: kind).withSimulator { session in
                try await session.seed(count: 30_000)
                session.simulator.faults.settings = FaultSettings(latencyMilliseconds: 10)
                try await session.withGateway(store: path) { gateway in
                    try await gateway.waitForMirror(.syncing, seconds: 60) { ($0.initialSync?.records ?? 0) >= 5_000 }
                }
                session.simulator.faults.settings = .none
                session.simulator.stats.reset()
                try await session.withGateway(store: path) { gateway in
                    let status = try await gateway.waitForMirror()
                    #expect(status.records == 30_000)
                    let total = try #require(status.initialSync?.sensCalls)
                    // The second process read only what the first had not: fewer calls than the whole pass took.
                    #expect(session.simulator.stats.snapshot.listCalls < total)
                    let feed = try await gateway.allChanges()
                    #expect(feed.changes.count == 30_000)
                    #expect(Set(feed.changes.map(\.phoneNumber)).count == 30_000)
                    midway.withLock { $0 = feed.changes[14_999].cursor }
                }
                // A third start finds the mirror complete: no full pass, only an incremental sync; the feed's cursors
                // still hold.
                session.simulator.stats.reset()
                try await session.withGateway(store: path) { gateway in
                    let status = try await gateway.waitForMirror(seconds: 20)
                    #expect(status.records == 30_000)
                    #expect(session.simulator.stats.snapshot.listCalls < 20)
                    let rest = try await gateway.allChanges(after: midway.withLock { $0 })
                    #expect(rest.changes.count == 15_000)
                }
                // Another store does not take them.
                try await session.withGateway { gateway in
                    try await gateway.waitForMirror()
                    #expect(
                        try await gateway.get("/v1/unsubscribes/changes?after=\(midway.withLock { $0 })").status == 400
                    )
                }
            }
        }
    }

    @Test(arguments: StoreKind.allCases) func aMirrorThatCannotVouchNeverAnswersNotOptedOut(
        kind: StoreKind
    ) async throws {
        var settings = MirrorHarness.fast
        settings.maxStalenessMilliseconds = 1_000
        try await MirrorHarness(settings: settings, store: kind).withSimulator { session in
            try await session.seed(count: 100)
            session.simulator.faults.settings = FaultSettings(latencyMilliseconds: 300)
            try await session.withGateway { gateway in
                // Still syncing: the filter refuses, a check is answered from SENS.
                let early = try await gateway.filter(
                    #"{"phoneNumbers":["010-9999-0000"]}"#,
                    contentType: "application/json"
                )
                #expect(early.status == 503)
                #expect(early.problem?.type == "urn:sens-gateway:problem:mirror-unavailable")
                #expect(early.headers[.retryAfter] != nil)
                session.simulator.faults.settings = .none
                try await gateway.waitForMirror()

                session.simulator.faults.settings = FaultSettings(failureRate: 1)
                let stale = try await gateway.waitForMirror(.stale, seconds: 10)
                #expect(stale.detail?.contains("last successful sync") == true)
                let check = try await gateway.get("/v1/unsubscribes/010-9999-0000")
                // Not from the mirror, and SENS fails: an error, never "not opted out".
                #expect(check.headers[.init("X-Cache")!] == nil)
                #expect([502, 503].contains(check.status), "\(check.status) \(check.body)")
                let filter = try await gateway.filter("01099990000\n", contentType: "text/plain")
                #expect(filter.status == 503)
                #expect(filter.problem?.detail.contains("last successful sync") == true)
                // Readiness follows SENS, not the mirror, and reports it.
                let ready = try await gateway.get("/readyz")
                #expect(ready.body.contains(#""mirror":"stale""#))

                session.simulator.faults.settings = .none
                try await gateway.waitForMirror(seconds: 10)
                #expect(try await gateway.filter("01099990000\n", contentType: "text/plain").status == 200)
            }
        }
    }

    /// A pass that SENS throttles slows down and completes; live checks beside it are never refused as overloaded,
    /// however few calls the live bulkhead admits: the syncs have a bulkhead (and a breaker) of their own.
    @Test func aThrottledPassCompletesAndLeavesTheLiveBulkheadAlone() async throws {
        try await MirrorHarness().withSimulator { session in
            try await session.seed(count: 3_000)
            session.simulator.faults.settings = FaultSettings(
                latencyMilliseconds: 20,
                throttleRate: 0.05,
                retryAfterSeconds: 1
            )
            let live = ResilienceSettings.defaults.with {
                $0.maxAttempts = 1
                $0.breakerMinimumCalls = 1_000
                $0.maxConcurrentCalls = 1
                $0.maxQueuedCalls = 1
                $0.breakerWindow = max($0.breakerWindow, $0.breakerMinimumCalls)
            }
            try await session.withGateway(resilience: live) { gateway in
                var answered = 0
                while try await gateway.mirrorStatus().state != .ready {
                    let check = try await gateway.send(
                        .get,
                        "/v1/unsubscribes/010-5000-0042",
                        headers: [.cacheControl: "no-cache"]
                    )
                    // SENS may throttle the check itself (429); it is never shed for the sync's sake (503 overloaded).
                    #expect(check.status == 200 || check.status == 429, "\(check.status) \(check.body)")
                    if check.status == 200 { answered += 1 }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(answered > 0)
                #expect(session.simulator.stats.snapshot.faultedCalls > 0, "SENS throttled some calls")
                let status = try await gateway.mirrorStatus()
                #expect(status.records == 3_000)
                #expect(status.initialSync?.records == 3_000)
            }
        }
    }

    /// An outside record registered with an old time, or in another digit form, is found by the next verification
    /// pass; checks, the filter and the feed answer it for the national number.
    @Test(arguments: StoreKind.allCases) func backDatedRecordsAndOtherFormsAreFoundByVerification(
        kind: StoreKind
    ) async throws {
        try await MirrorHarness(store: kind).withSimulator { session in
            try await session.seed(count: 500)
            try await session.withGateway { gateway in
                try await gateway.waitForMirror()
                let before = try await gateway.allChanges()
                let now = SystemEpochClock().nowMilliseconds()
                session.simulator.store.seed([
                    StoredUnsubscribe(
                        clientTelNo: "01077770001",
                        registerType: .ars,
                        registeredAtMilliseconds: now - 2 * 3_600_000
                    ),
                    StoredUnsubscribe(
                        clientTelNo: "01077770002",
                        registerType: .ars,
                        registeredAtMilliseconds: now - 45 * 86_400_000
                    ),
                    StoredUnsubscribe(
                        clientTelNo: "821077770003",
                        registerType: .manual,
                        registeredAtMilliseconds: now - 3 * 86_400_000
                    ),
                    StoredUnsubscribe(
                        clientTelNo: "1077770004",
                        registerType: .ars,
                        registeredAtMilliseconds: now - 86_400_000
                    ),
                    // Stamped by a clock two minutes ahead of the gateway's.
                    StoredUnsubscribe(
                        clientTelNo: "01077770006",
                        registerType: .ars,
                        registeredAtMilliseconds: now + 120_000
                    ),
                ])
                try await gateway.waitForMirror(seconds: 10) { $0.records == 505 }
                for number in ["01077770001", "01077770002", "01077770003", "010-7777-0004", "01077770006"] {
                    let answer = try await gateway.get("/v1/unsubscribes/\(number)")
                    #expect(answer.headers[.init("X-Cache")!] == "MIRROR")
                    #expect(try answer.decodeGenerated(Components.Schemas.OptOutStatus.self).optedOut, "\(number)")
                }
                // Asked of SENS (no-cache), which is asked for the national form only: the mirror's other form still
                // makes it opted out.
                let refreshed = try await gateway.send(
                    .get,
                    "/v1/unsubscribes/01077770003",
                    headers: [.cacheControl: "no-cache"]
                )
                #expect(try refreshed.decodeGenerated(Components.Schemas.OptOutStatus.self).optedOut)
                let filtered = try await gateway.filter(
                    "01077770003\n01077770004\n01077770005\n",
                    contentType: "text/plain"
                )
                let result = try filtered.decodeGenerated(Components.Schemas.FilterResult.self)
                #expect(result.optedOut.map(\.phoneNumber) == ["01077770003", "01077770004"])
                let feed = try await gateway.allChanges(after: before.next)
                #expect(
                    Set(feed.changes.map(\.phoneNumber)) == [
                        "01077770001", "01077770002", "01077770003", "01077770004", "01077770006",
                    ]
                )
                #expect(Set(feed.changes.compactMap(\.sensNumber)) == ["821077770003", "1077770004"])
                let status = try await gateway.mirrorStatus()
                #expect((status.verification?.recordsFound ?? 0) >= 0)
            }
        }
    }
}
