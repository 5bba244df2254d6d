import Logging
import OptOuts
import SQLiteNIO
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The mirror's embedded store: one SQLite file (WAL journal, so a kill mid-write rolls back cleanly), or memory.
/// Numbers are kept as `PhoneKey` integers. One connection; every call runs alone (`AsyncGate`), so a transaction's
/// statements are never interleaved with another call's.
public final class SQLiteMirrorStore: MirrorStore {
    private let connection: SQLiteConnection
    private let gate = AsyncGate()
    private let serviceIDs = ServiceIDCache<Int>()
    private let closed = Mutex(false)
    private let cachedStoreID = Mutex<String?>(nil)
    /// Rows a multi-row statement writes at once (SQLite takes up to 32,766 bound values).
    static let rowsPerStatement = 500

    /// Opens (creating if needed) the file at `path`, or a private in-memory database for `nil`.
    public static func open(path: String?, logger: Logger) async throws -> SQLiteMirrorStore {
        let connection = try await SQLiteConnection.open(
            storage: path.map { .file(path: $0) } ?? .memory,
            logger: logger
        )
        do {
            _ = try await connection.query("PRAGMA busy_timeout = 1000")
            if path != nil {
                // One process a file: a second gateway on the same file would keep an index the first one's
                // writes never reach. The lock is taken now, so the second one stops at start-up.
                _ = try await connection.query("PRAGMA locking_mode = EXCLUSIVE")
                _ = try await connection.query("PRAGMA journal_mode = WAL")
                _ = try await connection.query("PRAGMA synchronous = NORMAL")
                _ = try await connection.query("BEGIN EXCLUSIVE")
                _ = try await connection.query("COMMIT")
            }
        } catch {
            try? await connection.close()
            throw error
        }
        return SQLiteMirrorStore(connection: connection)
    }

    private init(connection: SQLiteConnection) {
        self.connection = connection
    }

    public func migrate() async throws {
        try await gate.run {
            _ = try await connection.query("CREATE TABLE IF NOT EXISTS mirror_schema (version INTEGER NOT NULL)")
            let rows = try await connection.query("SELECT MAX(version) AS version FROM mirror_schema")
            let current = rows.first?.column("version")?.integer ?? 0
            for (index, statements) in Self.migrations.enumerated() where index + 1 > current {
                try await transaction {
                    for statement in statements { _ = try await connection.query(statement) }
                    _ = try await connection.query(
                        "INSERT INTO mirror_schema (version) VALUES (?)",
                        [.integer(index + 1)]
                    )
                }
            }
        }
    }

    /// Version N is `migrations[N - 1]`; a released migration is never edited, only followed by another.
    static let migrations: [[String]] = [
        [
            "CREATE TABLE mirror_services (id INTEGER PRIMARY KEY, service_id TEXT NOT NULL UNIQUE, progress TEXT)",
            """
            CREATE TABLE mirror_records (service INTEGER NOT NULL, number INTEGER NOT NULL, registered_at INTEGER NOT NULL,
                source INTEGER NOT NULL, PRIMARY KEY (service, number)) WITHOUT ROWID
            """,
            """
            CREATE TABLE mirror_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, service INTEGER NOT NULL, number INTEGER NOT NULL,
                change INTEGER NOT NULL, registered_at INTEGER, source INTEGER, observed_at INTEGER NOT NULL)
            """,
            "CREATE INDEX mirror_changes_by_service ON mirror_changes (service, seq)",
            "CREATE TABLE mirror_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "INSERT INTO mirror_meta (key, value) VALUES ('store_id', lower(hex(randomblob(8))))",
        ],
        // What made each change: a sync (0) or a write through the gateway (1).
        ["ALTER TABLE mirror_changes ADD COLUMN origin INTEGER NOT NULL DEFAULT 0"],
        // How far each service's changes were pruned (`pruneChanges`).
        ["CREATE TABLE mirror_changes_pruned (service INTEGER PRIMARY KEY, through INTEGER NOT NULL)"],
    ]

    public var coordination: any MirrorCoordination { SoleProcess() }

    /// A local file: its calls are not bounded.
    public var callTimeout: Duration? { nil }

    /// One process writes this store, one write at a time per number (`NumberLocks`): no two gateway writes of a
    /// number overlap, so there is nothing to count and `apply` takes no `conflictsSince`.
    public func gatewayWriteClock(service: String) async throws -> Int64 { 0 }

    public func apply(service: String, _ write: MirrorWrite) async throws -> MirrorApplied {
        let (records, removals, observedAtMilliseconds) = (write.records, write.removals, write.observedAtMilliseconds)
        let (origin, progress, after) = (write.origin, write.progress, write.after)
        return try await gate.run {
            let id = try await serviceID(service)
            return try await transaction {
                for chunk in records.chunked(Self.rowsPerStatement) {
                    let placeholders = Array(repeating: "(?,?,?,?)", count: chunk.count).joined(separator: ",")
                    let binds = chunk.flatMap {
                        [
                            SQLiteData.integer(id), .integer(Self.integer($0.key)),
                            .integer(Int($0.registeredAtMilliseconds)),
                            .integer($0.source == .ars ? 1 : 0),
                        ]
                    }
                    let rows = try await connection.query(
                        """
                        INSERT INTO mirror_records (service, number, registered_at, source) VALUES \(placeholders)
                        ON CONFLICT (service, number) DO UPDATE SET registered_at = excluded.registered_at, source = excluded.source
                        WHERE mirror_records.registered_at != excluded.registered_at OR mirror_records.source != excluded.source
                        RETURNING number, registered_at, source
                        """,
                        binds
                    )
                    try await appendChanges(
                        service: id,
                        rows: rows,
                        kind: .added,
                        at: observedAtMilliseconds,
                        origin: origin
                    )
                }
                for chunk in removals.chunked(Self.rowsPerStatement) {
                    let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                    let rows = try await connection.query(
                        "DELETE FROM mirror_records WHERE service = ? AND number IN (\(placeholders)) RETURNING number",
                        [.integer(id)] + chunk.map { .integer(Self.integer($0)) }
                    )
                    try await appendChanges(
                        service: id,
                        rows: rows,
                        kind: .removed,
                        at: observedAtMilliseconds,
                        origin: origin
                    )
                }
                if let progress {
                    let text = String(decoding: try JSONEncoder().encode(progress), as: UTF8.self)
                    _ = try await connection.query(
                        "UPDATE mirror_services SET progress = ? WHERE id = ?",
                        [.text(text), .integer(id)]
                    )
                }
                let pruned = try await connection.query(
                    "SELECT through FROM mirror_changes_pruned WHERE service = ?",
                    [.integer(id)]
                )
                return MirrorApplied(
                    changes: try await changesAfter(id, after, limit: Int.max),
                    prunedThrough: Int64(pruned.first?.column("through")?.integer ?? 0)
                )
            }
        }
    }

    /// Appends one change per returned row (`number`, and for additions `registered_at`, `source`).
    private func appendChanges(
        service id: Int,
        rows: [SQLiteRow],
        kind: MirrorChange.Kind,
        at observed: Int64,
        origin: MirrorChange.Origin
    ) async throws {
        guard !rows.isEmpty else { return }
        let placeholders = Array(repeating: "(?,?,?,?,?,?,?)", count: rows.count).joined(separator: ",")
        let binds = rows.flatMap { row -> [SQLiteData] in
            [
                .integer(id), row.column("number") ?? .null, .integer(kind.rawValue),
                kind == .added ? row.column("registered_at") ?? .null : .null,
                kind == .added ? row.column("source") ?? .null : .null,
                .integer(Int(observed)), .integer(origin.rawValue),
            ]
        }
        _ = try await connection.query(
            """
            INSERT INTO mirror_changes (service, number, change, registered_at, source, observed_at, origin) VALUES \(placeholders)
            """,
            binds
        )
    }

    public func storeID() async throws -> String {
        if let id = cachedStoreID.withLock({ $0 }) { return id }
        return try await gate.run {
            let rows = try await connection.query("SELECT value FROM mirror_meta WHERE key = 'store_id'")
            guard let id = rows.first?.column("value")?.string else { throw MirrorStoreError.corrupt("no store id") }
            cachedStoreID.withLock { $0 = id }
            return id
        }
    }

    public func progress(service: String) async throws -> MirrorProgress? {
        try await gate.run {
            let rows = try await connection.query(
                "SELECT progress FROM mirror_services WHERE service_id = ?",
                [.text(service)]
            )
            guard let text = rows.first?.column("progress")?.string else { return nil }
            return try JSONDecoder().decode(MirrorProgress.self, from: Data(text.utf8))
        }
    }

    public func loadRecords(
        service: String,
        batch: ([MirrorRecord]) -> Void
    ) async throws -> (count: Int, lastSequence: Int64) {
        try await gate.run {
            let id = try await serviceID(service)
            var after = Int.min
            var count = 0
            while true {
                let rows = try await connection.query(
                    """
                    SELECT number, registered_at, source FROM mirror_records WHERE service = ? AND number > ? ORDER BY number LIMIT 50000
                    """,
                    [.integer(id), .integer(after)]
                )
                guard let last = rows.last?.column("number")?.integer else { break }
                batch(try rows.map(Self.record))
                count += rows.count
                after = last
            }
            let sequence = try await connection.query(
                """
                SELECT max(COALESCE((SELECT MAX(seq) FROM mirror_changes WHERE service = ?1), 0),
                    COALESCE((SELECT through FROM mirror_changes_pruned WHERE service = ?1), 0)) AS seq
                """,
                [.integer(id)]
            )
            return (count, Int64(sequence.first?.column("seq")?.integer ?? 0))
        }
    }

    public func changes(service: String, after sequence: Int64, limit: Int) async throws -> [MirrorChange] {
        try await gate.run {
            try await changesAfter(try await serviceID(service), sequence, limit: limit)
        }
    }

    public func pruneChanges(service: String, observedBefore cutoff: Int64, limit: Int) async throws -> Int {
        try await gate.run {
            let id = try await serviceID(service)
            return try await transaction {
                let rows = try await connection.query(
                    "SELECT seq, observed_at FROM mirror_changes WHERE service = ? ORDER BY seq LIMIT ?",
                    [.integer(id), .integer(limit)]
                )
                let oldest = rows.map {
                    (
                        sequence: Int64($0.column("seq")?.integer ?? 0),
                        observedAt: Int64($0.column("observed_at")?.integer ?? 0)
                    )
                }
                guard let (count, through) = ChangeFeedStart.prunable(oldest, observedBefore: cutoff) else { return 0 }
                _ = try await connection.query(
                    "DELETE FROM mirror_changes WHERE service = ? AND seq <= ?",
                    [.integer(id), .integer(Int(through))]
                )
                _ = try await connection.query(
                    """
                    INSERT INTO mirror_changes_pruned (service, through) VALUES (?, ?)
                    ON CONFLICT (service) DO UPDATE SET through = max(through, excluded.through)
                    """,
                    [.integer(id), .integer(Int(through))]
                )
                return count
            }
        }
    }

    public func changeFeedStart(service: String) async throws -> ChangeFeedStart {
        try await gate.run {
            let id = try await serviceID(service)
            let pruned = try await connection.query(
                "SELECT through FROM mirror_changes_pruned WHERE service = ?",
                [.integer(id)]
            )
            let oldest = try await connection.query(
                "SELECT seq, observed_at FROM mirror_changes WHERE service = ? ORDER BY seq LIMIT 1",
                [.integer(id)]
            )
            return ChangeFeedStart(
                prunedThrough: Int64(pruned.first?.column("through")?.integer ?? 0),
                oldestKeptSequence: oldest.first?.column("seq")?.integer.map(Int64.init),
                oldestKeptObservedAtMilliseconds: oldest.first?.column("observed_at")?.integer.map(Int64.init)
            )
        }
    }

    private func changesAfter(_ id: Int, _ sequence: Int64, limit: Int) async throws -> [MirrorChange] {
        let rows = try await connection.query(
            """
            SELECT seq, number, change, registered_at, source, observed_at, origin FROM mirror_changes
            WHERE service = ? AND seq > ? ORDER BY seq LIMIT ?
            """,
            [.integer(id), .integer(Int(sequence)), .integer(limit)]
        )
        return try rows.map(Self.change)
    }

    /// Closes the connection; later calls do nothing.
    public func close() async throws {
        try await gate.run {
            guard
                !closed.withLock({ closed in
                    defer { closed = true }
                    return closed
                })
            else { return }
            try await connection.close()
        }
    }

    /// The row id of a service, created on first use.
    private func serviceID(_ service: String) async throws -> Int {
        if let id = serviceIDs.id(of: service) { return id }
        _ = try await connection.query(
            "INSERT INTO mirror_services (service_id) VALUES (?) ON CONFLICT (service_id) DO NOTHING",
            [.text(service)]
        )
        let rows = try await connection.query("SELECT id FROM mirror_services WHERE service_id = ?", [.text(service)])
        guard let id = rows.first?.column("id")?.integer else {
            throw MirrorStoreError.corrupt("no row for service \(service)")
        }
        serviceIDs.remember(id, for: service)
        return id
    }

    private func transaction<T>(_ body: () async throws -> T) async throws -> T {
        _ = try await connection.query("BEGIN IMMEDIATE")
        do {
            let value = try await body()
            _ = try await connection.query("COMMIT")
            return value
        } catch {
            // In a task of its own: a cancelled caller (a sync stopped mid-write) must still end the transaction, or
            // every later one fails to begin.
            let connection = self.connection
            _ = try? await Task { try await connection.query("ROLLBACK") }.value
            throw error
        }
    }

    private static func integer(_ key: PhoneKey) -> Int { Int(truncatingIfNeeded: key.rawValue) }

    private static func key(_ data: SQLiteData?) throws -> PhoneKey {
        guard let value = data?.integer else { throw MirrorStoreError.corrupt("a number is not an integer") }
        return PhoneKey(rawValue: UInt64(truncatingIfNeeded: value))
    }

    private static func record(_ row: SQLiteRow) throws -> MirrorRecord {
        guard let time = row.column("registered_at")?.integer, let source = row.column("source")?.integer else {
            throw MirrorStoreError.corrupt("a record lacks its time or source")
        }
        return MirrorRecord(
            key: try key(row.column("number")),
            registeredAtMilliseconds: Int64(time),
            source: source == 1 ? .ars : .manual
        )
    }

    private static func change(_ row: SQLiteRow) throws -> MirrorChange {
        guard let sequence = row.column("seq")?.integer,
            let kind = row.column("change")?.integer.flatMap(MirrorChange.Kind.init(rawValue:)),
            let observed = row.column("observed_at")?.integer
        else {
            throw MirrorStoreError.corrupt("a change lacks its sequence, kind or time")
        }
        return MirrorChange(
            sequence: Int64(sequence),
            key: try key(row.column("number")),
            kind: kind,
            registeredAtMilliseconds: row.column("registered_at")?.integer.map(Int64.init),
            source: row.column("source")?.integer.map { $0 == 1 ? .ars : .manual },
            observedAtMilliseconds: Int64(observed),
            origin: row.column("origin")?.integer.flatMap(MirrorChange.Origin.init(rawValue:)) ?? .sync
        )
    }
}

/// The store holds something the gateway did not write, or cannot be used.
public enum MirrorStoreError: Error, CustomStringConvertible {
    case corrupt(String)
    /// The database failed or could not be reached (what was being done, and the database's error code).
    case database(String)

    public var description: String {
        switch self {
        case .corrupt(let what): "the mirror store is corrupt: \(what)"
        case .database(let what): "the mirror's database: \(what)"
        }
    }
}

/// Service ids already given a row, remembered for the store's life (both stores).
final class ServiceIDCache<ID: Sendable>: Sendable {
    private let ids = Mutex<[String: ID]>([:])

    func id(of service: String) -> ID? { ids.withLock { $0[service] } }
    func remember(_ id: ID, for service: String) { ids.withLock { $0[service] = id } }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
