import Logging
import OptOuts
import Testing

@testable import OptOutMirror

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Each store on its own: migrations, what `apply` reports as changed, and what survives a reopen; and what only
/// the shared store does.
@Suite struct MirrorStoreTests {
    func record(_ digits: String, _ time: Int64, _ source: OptOutSource = .ars) -> MirrorRecord {
        MirrorRecord(key: PhoneKey(digits: digits)!, registeredAtMilliseconds: time, source: source)
    }

    @Test(arguments: StoreKind.allCases) func recordsOnlyRealChangesAndKeepsThemAcrossAReopen(
        kind: StoreKind
    ) async throws {
        try await StoreLocation.with(kind) { location in
            let store = try await location.open()
            try await store.migrate()
            try await lead(store, "a", "b")  // a second run of the migrations changes nothing

            var progress = MirrorProgress()
            progress.passCursor = 42
            let first = try await store.apply(
                service: "a",
                records: [record("01011110000", 1), record("01022220000", 2)],
                removals: [],
                observedAtMilliseconds: 100,
                origin: .sync,
                progress: progress,
                after: 0
            )
            #expect(first.map(\.kind) == [.added, .added])
            #expect(first.map(\.sequence) == [1, 2])
            // The same records again: nothing changed, nothing recorded. A new time or source is a change.
            let same = try await store.apply(
                service: "a",
                records: [record("01011110000", 1)],
                removals: [],
                observedAtMilliseconds: 200,
                origin: .sync,
                progress: nil,
                after: 2
            )
            #expect(same.isEmpty)
            let moved = try await store.apply(
                service: "a",
                records: [record("01011110000", 5), record("01022220000", 2, .manual)],
                removals: [PhoneKey(digits: "01099990000")!],
                observedAtMilliseconds: 300,
                origin: .gateway,
                progress: nil,
                after: 2
            )
            #expect(moved.map(\.sequence) == [3, 4])
            #expect(moved.allSatisfy { $0.origin == .gateway })
            #expect(moved.allSatisfy { $0.kind == .added && $0.observedAtMilliseconds == 300 })
            let removed = try await store.apply(
                service: "a",
                records: [],
                removals: [PhoneKey(digits: "01022220000")!],
                observedAtMilliseconds: 400,
                origin: .sync,
                progress: nil,
                after: 4
            )
            #expect(removed.map(\.kind) == [.removed])
            #expect(removed.first?.registeredAtMilliseconds == nil)
            // Another service's list is its own.
            _ = try await store.apply(
                service: "b",
                records: [record("01022220000", 9)],
                removals: [],
                observedAtMilliseconds: 500,
                origin: .sync,
                progress: nil,
                after: 5
            )
            try await store.close()
            try await store.close()  // closing twice does nothing

            let reopened = try await location.open()
            try await lead(reopened, "a", "b")
            var loaded: [MirrorRecord] = []
            let summary = try await reopened.loadRecords(service: "a") { loaded += $0 }
            #expect(loaded == [record("01011110000", 5)])
            #expect(summary.count == 1)
            #expect(summary.lastSequence == 5)
            #expect(try await reopened.progress(service: "a")?.passCursor == 42)
            #expect(try await reopened.progress(service: "b") == nil)
            let feed = try await reopened.changes(service: "a", after: 2, limit: 10)
            #expect(feed.map(\.sequence) == [3, 4, 5])
            #expect(try await reopened.changes(service: "b", after: 0, limit: 10).map(\.key.digits) == ["01022220000"])
            try await reopened.close()
        }
    }

    @Test(arguments: StoreKind.allCases) func writesLargeBatchesInOneTransaction(kind: StoreKind) async throws {
        try await StoreLocation.with(kind) { location in
            let store = try await location.open()
            try await lead(store, "a")
            let records = (0..<2_345).map { record("0105" + String(1_000_000 + $0), Int64($0)) }
            let changes = try await store.apply(
                service: "a",
                records: records,
                removals: [],
                observedAtMilliseconds: 1,
                origin: .sync,
                progress: nil,
                after: 0
            )
            #expect(changes.count == 2_345)
            #expect(changes.map(\.sequence) == Array(1...2_345))
            var loaded = 0
            _ = try await store.loadRecords(service: "a") { loaded += $0.count }
            #expect(loaded == 2_345)
            try await store.close()
        }
    }

    /// A second gateway on the same file would keep an index the first one's writes never reach: it is refused.
    @Test func refusesASecondOpenOfTheSameFile() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString).sqlite")
            .path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let first = try await SQLiteMirrorStore.open(path: path, logger: Logger(label: "store"))
        try await first.migrate()
        await #expect(throws: (any Error).self) {
            _ = try await SQLiteMirrorStore.open(path: path, logger: Logger(label: "store"))
        }
        try await first.close()
        let again = try await SQLiteMirrorStore.open(path: path, logger: Logger(label: "store"))
        try await again.close()
    }

    /// Replicas that start at once on an empty database both migrate it; a write returns every change after the
    /// one given, the other writers' included, and a service's changes commit in sequence order, so a replica
    /// following `seq > last` never passes over one.
    @Test func theSharedStoreSequencesEveryWritersChangesInCommitOrder() async throws {
        try await TestPostgres.withDatabase { database in
            async let openedA = PostgresMirrorStore.open(settings: database, logger: Logger(label: "a"))
            async let openedB = PostgresMirrorStore.open(settings: database, logger: Logger(label: "b"))
            let (a, b) = try await (openedA, openedB)
            async let migratedA: Void = a.migrate()
            async let migratedB: Void = b.migrate()
            _ = try await (migratedA, migratedB)
            #expect(try await a.storeID() == b.storeID())
            try await lead(b, "s")

            _ = try await a.apply(
                service: "s",
                records: [record("01011110000", 1)],
                removals: [],
                observedAtMilliseconds: 1,
                origin: .gateway,
                progress: nil,
                after: 0
            )
            let seen = try await b.apply(
                service: "s",
                records: [record("01022220000", 2)],
                removals: [],
                observedAtMilliseconds: 2,
                origin: .sync,
                progress: nil,
                after: 0
            )
            #expect(seen.map(\.sequence) == [1, 2])
            #expect(seen.map(\.origin) == [.gateway, .sync])

            // Many writes at once from both: each returns a gapless run of the table, ending at its own change.
            let runs = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for index in 0..<40 {
                    let store = index.isMultiple(of: 2) ? a : b
                    group.addTask {
                        try await store.apply(
                            service: "s",
                            records: [self.record("0103" + String(1_000_000 + index), Int64(index))],
                            removals: [],
                            observedAtMilliseconds: 3,
                            origin: .gateway,
                            progress: nil,
                            after: 2
                        ).map(\.sequence)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let all = try await a.changes(service: "s", after: 0, limit: 100).map(\.sequence)
            #expect(all.count == 42)
            for run in runs {
                let end = try #require(run.last)
                #expect(run == all.filter { $0 > 2 && $0 <= end })
            }
            try await a.close()
            try await b.close()
        }
    }

    /// Only the process that holds a service's lead writes a sync's results, and those remove nothing another
    /// process wrote through its gateway that this one had not yet read: its sync read may predate that write. They
    /// may add such a number back (the safe side: a verification pass settles it with SENS).
    @Test func aSyncWritesOnlyUnderTheLeadAndSparesOtherReplicasUnseenWrites() async throws {
        try await TestPostgres.withDatabase { database in
            let a = try await PostgresMirrorStore.open(settings: database, logger: Logger(label: "a"))
            let b = try await PostgresMirrorStore.open(settings: database, logger: Logger(label: "b"))
            try await a.migrate()
            #expect(try await eventually { await a.coordination.lead("s") })
            _ = try await a.apply(
                service: "s",
                records: [record("01055550002", 1)],
                removals: [],
                observedAtMilliseconds: 1,
                origin: .sync,
                progress: nil,
                after: 0
            )
            // B registers 01055550001 and removes 01055550002 through its gateway; A has not read either.
            _ = try await b.apply(
                service: "s",
                records: [record("01055550001", 2)],
                removals: [PhoneKey(digits: "01055550002")!],
                observedAtMilliseconds: 2,
                origin: .gateway,
                progress: nil,
                after: 0
            )
            // A's sync, from a read that predates them, would remove the first (it does not) and add the second back
            // (it does: opted out is the safe side).
            let changes = try await a.apply(
                service: "s",
                records: [record("01055550002", 1), record("01055550003", 3)],
                removals: [PhoneKey(digits: "01055550001")!],
                observedAtMilliseconds: 3,
                origin: .sync,
                progress: nil,
                after: 1
            )
            #expect(changes.map(\.key.digits) == ["01055550001", "01055550002", "01055550002", "01055550003"])
            #expect(changes.map(\.kind) == [.added, .removed, .added, .added])
            var held: [String] = []
            _ = try await a.loadRecords(service: "s") { held += $0.map(\.key.digits) }
            #expect(held.sorted() == ["01055550001", "01055550002", "01055550003"])
            // B does not hold the lead: a sync's write from it is refused, in the transaction as before it.
            await #expect(throws: MirrorLeadLost.self) {
                _ = try await b.apply(
                    service: "s",
                    records: [self.record("01055550004", 4)],
                    removals: [],
                    observedAtMilliseconds: 4,
                    origin: .sync,
                    progress: nil,
                    after: 0
                )
            }
            try await a.close()
            try await b.close()
        }
    }

    /// One process at a time holds a service's lead; when it goes, another can take it.
    @Test func oneProcessHoldsAServicesLeadUntilItCloses() async throws {
        try await TestPostgres.withDatabase { database in
            let a = try await PostgresMirrorStore.open(settings: database, logger: Logger(label: "a"))
            let b = try await PostgresMirrorStore.open(settings: database, logger: Logger(label: "b"))
            try await a.migrate()
            #expect(try await eventually { await a.coordination.lead("s") })
            #expect(a.coordination.holdsLead("s"))
            #expect(try await eventually { await b.coordination.lead("t") })
            #expect(await b.coordination.lead("s") == false)
            #expect(!b.coordination.holdsLead("s"))
            try await a.close()
            #expect(try await eventually { await b.coordination.lead("s") })
            try await b.close()
        }
    }

    /// Waits until `store` (this process) holds the lead of each service: a sync's writes need it. At once for the
    /// embedded store; a PostgreSQL store's session takes a moment to open.
    func lead(_ store: any MirrorStore, _ services: String...) async throws {
        for service in services { #expect(try await eventually { await store.coordination.lead(service) }) }
    }

    /// Whether `condition` holds within 5 s.
    func eventually(_ condition: () async -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
