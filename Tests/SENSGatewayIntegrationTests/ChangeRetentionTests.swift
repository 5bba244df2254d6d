import GatewayAPI
import HTTPTypes
import Logging
import OptOuts
import SENSCore
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Synchronization
import Testing

@testable import GatewayHTTP
@testable import OptOutMirror

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The change feed's retention (`MIRROR_CHANGE_RETENTION_DAYS`): pruning keeps the feed's tail, a cursor before it
/// is 410 Gone, and an export's cursor follows on from the list it gave.
@Suite("Change retention", .serialized)
struct ChangeRetentionTests {
    /// Random writes to two services with clocks that jitter, random prunes (cutoff, batch) and reads from random
    /// cursors, against a model of the feed: what each store keeps, its pruned mark and what a cursor reads.
    @Test(arguments: StoreKind.allCases, [1, 2, 3] as [UInt64])
    func prunedFeedMatchesAModel(kind: StoreKind, seed: UInt64) async throws {
        try await StoreLocation.with(kind) { location in
            let store = try await location.open()
            defer { Task { try? await store.close() } }
            var random = SeededGenerator(seed: seed)
            struct Feed {
                var kept: [(sequence: Int64, observedAt: Int64)] = []
                var prunedThrough: Int64 = 0
            }
            var model = ["a": Feed(), "b": Feed()]
            var after = ["a": Int64(0), "b": Int64(0)]
            var now: Int64 = 1_000_000
            for step in 0..<200 {
                let service = Bool.random(using: &random) ? "a" : "b"
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<5:
                    now += Int64.random(in: 0...100, using: &random)
                    let observed = now + Int64.random(in: -30...30, using: &random)
                    // Distinct numbers, as a write's are once normalized.
                    let numbers = Array(
                        Set(
                            (0..<Int.random(in: 1...4, using: &random)).map { _ in
                                PhoneKey(digits: "010" + String(10_000_000 + Int.random(in: 0..<40, using: &random)))!
                            }
                        )
                    ).sorted { $0.rawValue < $1.rawValue }
                    let remove = Bool.random(using: &random)
                    let records =
                        remove
                        ? [] : numbers.map { MirrorRecord(key: $0, registeredAtMilliseconds: now, source: .manual) }
                    let changes = try await store.apply(
                        service: service,
                        records: records,
                        removals: remove ? numbers : [],
                        observedAtMilliseconds: observed,
                        origin: .gateway,
                        progress: nil,
                        after: after[service]!
                    )
                    after[service] = changes.last?.sequence ?? after[service]!
                    model[service]!.kept += changes.map { ($0.sequence, $0.observedAtMilliseconds) }
                case 5..<8:
                    let cutoff = now - Int64.random(in: 0...400, using: &random)
                    let limit = Int.random(in: 1...7, using: &random)
                    let doomed = model[service]!.kept.prefix(limit).prefix { $0.observedAt < cutoff }
                    let deleted = try await store.pruneChanges(service: service, observedBefore: cutoff, limit: limit)
                    #expect(deleted == doomed.count, "step \(step)")
                    if let last = doomed.last { model[service]!.prunedThrough = last.sequence }
                    model[service]!.kept.removeFirst(doomed.count)
                default:
                    let feed = model[service]!
                    let start = try await store.changeFeedStart(service: service)
                    #expect(start.prunedThrough == feed.prunedThrough, "step \(step)")
                    #expect(start.oldestKeptSequence == feed.kept.first?.sequence, "step \(step)")
                    #expect(start.oldestKeptObservedAtMilliseconds == feed.kept.first?.observedAt, "step \(step)")
                    let cursors = [feed.prunedThrough] + feed.kept.map(\.sequence)
                    let cursor = cursors.randomElement(using: &random)!
                    let read = try await store.changes(service: service, after: cursor, limit: 1_000)
                    #expect(read.map(\.sequence) == feed.kept.map(\.sequence).filter { $0 > cursor }, "step \(step)")
                    let loaded = try await store.loadRecords(service: service) { _ in }
                    #expect(
                        loaded.lastSequence == max(feed.kept.last?.sequence ?? 0, feed.prunedThrough),
                        "step \(step)"
                    )
                }
            }
            #expect(model.values.allSatisfy { $0.prunedThrough > 0 }, "the run pruned nothing")
        }
    }

    /// A replica that fell behind the retention (paused for days) and writes through its gateway before its follow
    /// loop runs: the store's answer lacks the pruned changes it missed, so it stops vouching instead of following
    /// on, and its next read of the store loads the whole list, the missed number with it.
    @Test func aWriteThroughAReplicaBehindTheRetentionMakesItLoadTheListAgain() async throws {
        try await StoreLocation.with(.postgres) { location in
            let (storeA, storeB) = (try await location.open(), try await location.open())
            let service = "ncp:sms:kr:123456789012:sens"
            let missed = PhoneKey(digits: "01077770001")!
            let written = PhoneKey(digits: "01077770002")!
            let b = ServiceMirror(
                name: "default",
                storeKey: service,
                store: storeB,
                clock: SystemEpochClock(),
                settings: MirrorHarness.fast,
                metrics: NoMirrorMetrics(),
                logger: Logger(label: "b")
            )
            try await b.load()
            // Another replica's write, then every change pruned, while this one was away.
            _ = try await storeA.apply(
                service: service,
                records: [MirrorRecord(key: missed, registeredAtMilliseconds: 1, source: .ars)],
                removals: [],
                observedAtMilliseconds: 1,
                origin: .gateway,
                progress: nil,
                after: 0
            )
            while try await storeA.pruneChanges(service: service, observedBefore: .max, limit: 1_000) > 0 {}

            let note = await b.writing([written]) { ticket in
                await b.recordWrite(
                    registered: [OptOut(phoneNumber: "01077770002", registeredAtMilliseconds: 2, source: .manual)],
                    removed: [],
                    unconfirmedRegistrations: [],
                    ticket: ticket
                )
            }
            #expect(note == nil, "the write is in the store")
            #expect(b.state.withLock { !$0.loaded }, "it no longer vouches for an index that lacks what it missed")
            #expect(b.heldOptOut(missed) == nil && b.heldOptOut(written) == nil)

            try await b.follow(asSyncer: false)
            #expect(b.state.withLock { $0.loaded && $0.index.optOut(of: missed) != nil })
            #expect(b.state.withLock { $0.index.optOut(of: written) != nil })
            try await storeA.close()
            try await storeB.close()
        }
    }

    /// A gateway over a store holding changes observed 100 days ago prunes them at start-up (90 days kept): a cursor
    /// among them is 410 with a problem that says how to start again, the feed without a cursor starts after them,
    /// `/v1/mirror` shows the oldest change kept, and an export's `X-Change-Cursor` follows on from its list.
    @Test(arguments: StoreKind.allCases) func oldCursorsAreGoneAndTheExportCursorFollowsOn(kind: StoreKind) async throws
    {
        try await MirrorHarness(store: kind).withSimulator { session in
            try await session.seed(count: 20)
            try await StoreLocation.with(kind) { location in
                let serviceKey = session.simulator.configuration.serviceID
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                let old = now - 100 * 86_400_000
                let seeded = try await location.open()
                let oldChanges = try await seeded.apply(
                    service: serviceKey,
                    records: (0..<5).map {
                        MirrorRecord(
                            key: PhoneKey(digits: "0109000000\($0)")!,
                            registeredAtMilliseconds: old,
                            source: .manual
                        )
                    },
                    removals: [],
                    observedAtMilliseconds: old,
                    origin: .gateway,
                    progress: nil,
                    after: 0
                )
                let scope = try await seeded.storeID() + "/" + serviceKey
                try await seeded.close()
                let oldCursor = ChangeCursor.text(oldChanges[1].sequence, scope: scope)

                let settings = MirrorHarness.fast.with { $0.changeRetention = .seconds(90 * 86_400) }
                try await session.withGateway(store: location, settings: settings) { gateway in
                    let status = try await gateway.waitForMirror { $0.changeFeed?.pruned == true }
                    #expect(status.changeFeed?.retentionDays == 90)
                    let oldestKept = try #require(status.changeFeed?.oldestKeptAt)
                    #expect(oldestKept.timeIntervalSince1970 * 1000 > Double(old + 86_400_000))

                    let gone = try await gateway.get("/v1/unsubscribes/changes?after=\(oldCursor)")
                    #expect(gone.status == 410, "\(gone.body)")
                    #expect(gone.headers[.contentType]?.hasPrefix("application/problem+json") == true)
                    let problem = try gone.decodeGenerated(Components.Schemas.Problem.self)
                    #expect(problem._type == "urn:sens-gateway:problem:changes-pruned")
                    #expect(problem.detail.contains("GET /v1/unsubscribes/export"))
                    #expect(problem.detail.contains("X-Change-Cursor"))
                    #expect(problem.detail.contains("90 days"))
                    #expect(problem.invalidParams?.map(\.name) == ["after"])

                    // From the start: none of the pruned changes, the sync's 20 additions among what is kept.
                    let fromStart = try await gateway.allChanges()
                    let oldNumbers = Set((0..<5).map { "0109000000\($0)" })
                    #expect(!fromStart.changes.contains { $0.change == .added && oldNumbers.contains($0.phoneNumber) })
                    #expect(fromStart.changes.filter { $0.change == .added }.count >= 20)

                    let export = try await gateway.get("/v1/unsubscribes/export")
                    #expect(export.status == 200)
                    let cursor = try #require(export.headers[.init("X-Change-Cursor")!])
                    #expect(try await gateway.allChanges(after: cursor).changes.isEmpty)
                    let register = try await gateway.send(
                        .post,
                        "/v1/unsubscribes",
                        json: #"{"phoneNumbers":["010-7777-0000"]}"#
                    )
                    #expect(register.status == 200, "\(register.body)")
                    let since = try await gateway.allChanges(after: cursor).changes
                    #expect(since.map(\.phoneNumber) == ["01077770000"])
                    #expect(since.map(\.change) == [.added])
                }
            }
        }
    }
}
