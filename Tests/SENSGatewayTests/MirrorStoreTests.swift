#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
@testable import OptOutMirror
import OptOuts
import Testing

/// The SQLite store on its own: migrations, what `apply` reports as changed, and what survives a reopen.
@Suite struct MirrorStoreTests {
    func record(_ digits: String, _ time: Int64, _ source: OptOutSource = .ars) -> MirrorRecord {
        MirrorRecord(key: PhoneKey(digits: digits)!, registeredAtMilliseconds: time, source: source)
    }

    @Test func recordsOnlyRealChangesAndKeepsThemAcrossAReopen() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try await SQLiteMirrorStore.open(path: path, logger: Logger(label: "store"))
        try await store.migrate()
        try await store.migrate()  // a second run of the migrations changes nothing

        var progress = MirrorProgress()
        progress.passCursor = 42
        let first = try await store.apply(service: "a", records: [record("01011110000", 1), record("01022220000", 2)], removals: [],
                                          observedAtMilliseconds: 100, progress: progress)
        #expect(first.map(\.kind) == [.added, .added])
        #expect(first.map(\.sequence) == [1, 2])
        // The same records again: nothing changed, nothing recorded. A new time or source is a change.
        let same = try await store.apply(service: "a", records: [record("01011110000", 1)], removals: [], observedAtMilliseconds: 200, progress: nil)
        #expect(same.isEmpty)
        let moved = try await store.apply(service: "a", records: [record("01011110000", 5), record("01022220000", 2, .manual)],
                                          removals: [PhoneKey(digits: "01099990000")!], observedAtMilliseconds: 300, progress: nil)
        #expect(moved.count == 2)
        #expect(moved.allSatisfy { $0.kind == .added && $0.observedAtMilliseconds == 300 })
        let removed = try await store.apply(service: "a", records: [], removals: [PhoneKey(digits: "01022220000")!],
                                            observedAtMilliseconds: 400, progress: nil)
        #expect(removed.map(\.kind) == [.removed])
        #expect(removed.first?.registeredAtMilliseconds == nil)
        // Another service's list is its own.
        _ = try await store.apply(service: "b", records: [record("01022220000", 9)], removals: [], observedAtMilliseconds: 500, progress: nil)
        try await store.close()
        try await store.close()  // closing twice does nothing

        let reopened = try await SQLiteMirrorStore.open(path: path, logger: Logger(label: "store"))
        try await reopened.migrate()
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

    @Test func writesLargeBatchesInOneTransaction() async throws {
        let store = try await SQLiteMirrorStore.open(path: nil, logger: Logger(label: "store"))
        try await store.migrate()
        let records = (0..<2_345).map { record("0105" + String(1_000_000 + $0), Int64($0)) }
        let changes = try await store.apply(service: "a", records: records, removals: [], observedAtMilliseconds: 1, progress: nil)
        #expect(changes.count == 2_345)
        #expect(changes.map(\.sequence) == Array(1...2_345))
        var loaded = 0
        _ = try await store.loadRecords(service: "a") { loaded += $0.count }
        #expect(loaded == 2_345)
        try await store.close()
    }

    /// A second gateway on the same file would keep an index the first one's writes never reach: it is refused.
    @Test func refusesASecondOpenOfTheSameFile() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let first = try await SQLiteMirrorStore.open(path: path, logger: Logger(label: "store"))
        try await first.migrate()
        await #expect(throws: (any Error).self) { _ = try await SQLiteMirrorStore.open(path: path, logger: Logger(label: "store")) }
        try await first.close()
        let again = try await SQLiteMirrorStore.open(path: path, logger: Logger(label: "store"))
        try await again.close()
    }
}
