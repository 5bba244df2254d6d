import Logging
import NIOSSL
import OptOuts
import PostgresNIO
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The mirror's shared store: PostgreSQL, which every replica reads and writes through a bounded pool, with the
/// same tables as the embedded store. A service's writes take a transaction-level advisory lock, so that its
/// changes commit in sequence order and a replica following `seq > last` never passes over one that commits late.
/// Beside the pool, a session of its own (`PostgresSession`) holds this replica's leads and listens for the others'
/// changes.
public final class PostgresMirrorStore: MirrorStore {
    private let client: PostgresClient
    private let clientTask: Task<Void, Never>
    private let session: PostgresSession
    private let logger: Logger
    private let sessionConfiguration: PostgresConnection.Configuration
    /// How long a store call may take before it fails here (the server's `statement_timeout` is a little less, and
    /// normally fires first): the pool waits for a connection far longer when the server refuses them.
    private let timeout: Duration
    /// Whether the server is known to be out of reach: calls then fail at once.
    private let outage = StoreOutage()
    private let serviceIDs = ServiceIDCache<Int32>()
    private let cachedStoreID = Mutex<String?>(nil)
    private let closed = Mutex(false)

    /// Connects (the pool and the session) and checks the server answers; throws, with the password masked, when it
    /// does not within the timeout.
    public static func open(settings: PostgresStoreSettings, logger: Logger) async throws -> PostgresMirrorStore {
        let store = try PostgresMirrorStore(settings: settings, logger: logger)
        do {
            // One connection of its own first: the pool would retry a refused or failed login until the timeout,
            // where this says why.
            _ = try await store.withTimeout(settings.timeout) {
                let probe = try await PostgresConnection.connect(
                    configuration: store.sessionConfiguration,
                    id: 0,
                    logger: store.logger
                )
                do { try await probe.query("SELECT 1", logger: store.logger) } catch {
                    try? await probe.close()
                    throw error
                }
                try await probe.close()
            }
        } catch {
            try? await store.close()
            throw MirrorStoreError.database(
                error is PostgresTimeout ? "\(error)" : "connecting failed: \(PostgresFailure(error))"
            )
        }
        store.session.start()
        return store
    }

    private init(settings: PostgresStoreSettings, logger: Logger) throws {
        var configuration = PostgresClient.Configuration(
            host: settings.host,
            port: settings.port,
            username: settings.username,
            password: settings.password,
            database: settings.database,
            tls: .disable
        )
        var connection = PostgresConnection.Configuration(
            host: settings.host,
            port: settings.port,
            username: settings.username,
            password: settings.password,
            database: settings.database,
            tls: .disable
        )
        switch settings.tls {
        case .disable: break
        case .prefer:
            configuration.tls = .prefer(.makeClientConfiguration())
            connection.tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require:
            configuration.tls = .require(.makeClientConfiguration())
            connection.tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        // The server gives up on a statement a little before the call's time-out here, so that a statement that
        // waited (on a lock) fails with its own words, and the call still ends within the time-out.
        // A replica frozen in the middle of a transaction (its locks held) loses it after the time-out.
        let parameters = [
            ("statement_timeout", String(settings.timeout.totalMilliseconds * 9 / 10)),
            ("idle_in_transaction_session_timeout", String(settings.timeout.totalMilliseconds)),
            ("application_name", "sens-gateway"),
        ]
        configuration.options.maximumConnections = settings.poolSize
        configuration.options.connectTimeout = settings.timeout
        configuration.options.additionalStartupParameters = parameters
        connection.options.connectTimeout = .milliseconds(settings.timeout.totalMilliseconds)
        connection.options.additionalStartupParameters = parameters
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let client = PostgresClient(configuration: configuration, backgroundLogger: quiet)
        self.client = client
        self.clientTask = Task { await client.run() }
        self.session = PostgresSession(
            configuration: connection,
            timeout: settings.timeout,
            outage: outage,
            logger: logger
        )
        self.sessionConfiguration = connection
        self.timeout = settings.timeout
        self.logger = quiet
    }

    public var coordination: any MirrorCoordination { session }

    public var callTimeout: Duration? { timeout }

    public func migrate() async throws {
        try await database("migrating the schema") { [self] in
            try await client.withTransaction(logger: logger) { connection in
                // Replicas that start at once migrate one after the other.
                try await connection.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended('sens-gateway mirror schema', 0))",
                    logger: logger
                )
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS mirror_schema (version INTEGER NOT NULL)",
                    logger: logger
                )
                var current = 0
                for try await version in try await connection.query(
                    "SELECT COALESCE(MAX(version), 0) FROM mirror_schema",
                    logger: logger
                )
                .decode(Int.self) { current = version }
                for (index, statements) in Self.migrations.enumerated() where index + 1 > current {
                    for statement in statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO mirror_schema (version) VALUES (\(index + 1))",
                        logger: logger
                    )
                }
            }
        }
    }

    /// Version N is `migrations[N - 1]`; a released migration is never edited, only followed by another. The same
    /// tables as the embedded store's, and the same codes (`change`: 0 removed, 1 added; `origin`: 0 sync,
    /// 1 gateway; `source`: 0 manual, 1 080 call).
    static let migrations: [[String]] = [
        [
            "CREATE TABLE mirror_services (id SERIAL PRIMARY KEY, service_id TEXT NOT NULL UNIQUE, progress TEXT)",
            """
            CREATE TABLE mirror_records (service INTEGER NOT NULL, number BIGINT NOT NULL, registered_at BIGINT NOT NULL,
                source SMALLINT NOT NULL, PRIMARY KEY (service, number))
            """,
            """
            CREATE TABLE mirror_changes (seq BIGSERIAL PRIMARY KEY, service INTEGER NOT NULL, number BIGINT NOT NULL,
                change SMALLINT NOT NULL, registered_at BIGINT, source SMALLINT, observed_at BIGINT NOT NULL, origin SMALLINT NOT NULL)
            """,
            "CREATE INDEX mirror_changes_by_service ON mirror_changes (service, seq)",
            "CREATE TABLE mirror_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "INSERT INTO mirror_meta (key, value) VALUES ('store_id', substr(md5(random()::text || clock_timestamp()::text), 1, 16))",
        ],
        // Writes through the gateways, counted per service, and the count at each number's last one (whether it
        // changed anything or not): two writes of a number through two replicas overlapped when one was recorded
        // after the other began (`apply`'s `conflictsSince`).
        [
            "ALTER TABLE mirror_services ADD COLUMN write_clock BIGINT NOT NULL DEFAULT 0",
            """
            CREATE TABLE mirror_gateway_writes (service INTEGER NOT NULL, number BIGINT NOT NULL, clock BIGINT NOT NULL,
                PRIMARY KEY (service, number))
            """,
        ],
        // How far each service's changes were pruned (`pruneChanges`): a table of its own, so that pruning locks no
        // row a write updates.
        ["CREATE TABLE mirror_changes_pruned (service INTEGER PRIMARY KEY, through BIGINT NOT NULL)"],
    ]

    public func gatewayWriteClock(service: String) async throws -> Int64 {
        let id = try await serviceID(service)
        return try await database("reading the write clock") { [self] () async throws -> Int64 in
            var clock: Int64 = 0
            for try await value in try await client.query(
                "SELECT write_clock FROM mirror_services WHERE id = \(id)",
                logger: logger
            )
            .decode(Int64.self) { clock = value }
            return clock
        }
    }

    public func apply(service: String, _ write: MirrorWrite) async throws -> MirrorApplied {
        let (removals, observedAtMilliseconds) = (write.removals, write.observedAtMilliseconds)
        let (origin, progress, after) = (write.origin, write.progress, write.after)
        let (conflictsSince, deadline) = (write.conflictsSince, write.deadline)
        let id = try await serviceID(service)
        let progressText = try progress.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let logger = self.logger
        // A sync writes only while this replica's session holds the service's lead: checked in the transaction.
        var fencePID: Int32?
        if origin == .sync {
            guard let pid = session.fence(service) else { throw MirrorLeadLost() }
            fencePID = pid
        }
        let fence = fencePID
        // One row a number (the last one given): an upsert cannot touch a row twice.
        var seen = Set<PhoneKey>()
        let records = Array(write.records.reversed().filter { seen.insert($0.key).inserted }.reversed())
        let client = self.client
        // A sync removes none of the numbers another replica wrote through its gateway since `after`: this one's
        // sync read may predate that write, and it has not seen it yet. (It may add them: that errs on the safe side.)
        let spare = origin == .sync
        let limit = deadline.map { min(timeout, $0 - .now) } ?? timeout
        // The outage that used the write's time up (reading the write clock) is what to report.
        if let outage = outage.explanation { throw MirrorStoreError.database("writing the mirror failed: \(outage)") }
        // Too little left for a statement to run (and `statement_timeout` 0 would mean none at all).
        guard limit >= .milliseconds(50) else {
            throw MirrorStoreError.database(
                "writing the mirror failed: the write's time (\(timeout), mirror.databaseTimeoutSeconds) was used up before it"
            )
        }
        return try await database("writing the mirror", within: limit) { [self] in
            try await client.withTransaction(logger: logger) { connection in
                if limit < timeout {
                    // The server gives up on this transaction's statements (a wait on the write lock) by the deadline.
                    try await connection.query(
                        PostgresQuery(unsafeSQL: "SET LOCAL statement_timeout = \(limit.totalMilliseconds * 9 / 10)"),
                        logger: logger
                    )
                }
                // Changes of one service commit in the order of their sequence numbers.
                try await connection.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(\(Self.writeLockName(service)), 0))",
                    logger: logger
                )
                if let fence {
                    var held = false
                    for try await value in try await connection.query(
                        """
                        SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = \(fence) AND objsubid = 1
                            AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(\(PostgresSession.lockName(service)), 0))
                        """,
                        logger: logger
                    ).decode(Bool.self) { held = value }
                    guard held else { throw MirrorLeadLost() }
                }
                var removals = removals
                var conflicted = Set<PhoneKey>()
                if origin == .gateway {
                    let numbers = (records.map(\.key) + removals).map { Int64(bitPattern: $0.rawValue) }
                    if let since = conflictsSince {
                        for try await number in try await connection.query(
                            """
                            SELECT number FROM mirror_gateway_writes WHERE service = \(id) AND clock > \(since) AND number = ANY(\(numbers)::bigint[])
                            """,
                            logger: logger
                        ).decode(Int64.self) {
                            conflicted.insert(PhoneKey(rawValue: UInt64(bitPattern: number)))
                        }
                        removals.removeAll { conflicted.contains($0) }
                    }
                    // This write's mark on each of its numbers, under the service's write lock.
                    try await connection.query(
                        """
                        WITH tick AS (UPDATE mirror_services SET write_clock = write_clock + 1 WHERE id = \(id) RETURNING write_clock)
                        INSERT INTO mirror_gateway_writes (service, number, clock)
                        SELECT \(id), number, (SELECT write_clock FROM tick) FROM unnest(\(numbers)::bigint[]) AS given (number)
                        ON CONFLICT (service, number) DO UPDATE SET clock = excluded.clock
                        """,
                        logger: logger
                    )
                }
                var changed = false
                if !records.isEmpty {
                    let numbers = records.map { Int64(bitPattern: $0.key.rawValue) }
                    let times = records.map(\.registeredAtMilliseconds)
                    let sources = records.map { Int64($0.source == .ars ? 1 : 0) }
                    let rows = try await connection.query(
                        """
                        WITH upserted AS (
                            INSERT INTO mirror_records (service, number, registered_at, source)
                            SELECT \(id), number, registered_at, source::smallint
                            FROM unnest(\(numbers)::bigint[], \(times)::bigint[], \(sources)::bigint[]) AS given (number, registered_at, source)
                            ON CONFLICT (service, number) DO UPDATE SET registered_at = excluded.registered_at, source = excluded.source
                            WHERE mirror_records.registered_at <> excluded.registered_at OR mirror_records.source <> excluded.source
                            RETURNING number, registered_at, source)
                        INSERT INTO mirror_changes (service, number, change, registered_at, source, observed_at, origin)
                        SELECT \(id), number, 1, registered_at, source, \(observedAtMilliseconds), \(Int16(origin.rawValue))
                        FROM upserted ORDER BY number RETURNING seq
                        """,
                        logger: logger
                    )
                    for try await _ in rows.decode(Int64.self) { changed = true }
                }
                if !removals.isEmpty {
                    let numbers = removals.map { Int64(bitPattern: $0.rawValue) }
                    let rows = try await connection.query(
                        """
                        WITH removed AS (
                            DELETE FROM mirror_records r WHERE r.service = \(id) AND r.number = ANY(\(numbers)::bigint[])
                            AND (NOT \(spare) OR NOT EXISTS (SELECT 1 FROM mirror_changes c
                                WHERE c.service = \(id) AND c.seq > \(after) AND c.origin = 1 AND c.number = r.number))
                            RETURNING r.number)
                        INSERT INTO mirror_changes (service, number, change, registered_at, source, observed_at, origin)
                        SELECT \(id), number, 0, NULL, NULL, \(observedAtMilliseconds), \(Int16(origin.rawValue))
                        FROM removed ORDER BY number RETURNING seq
                        """,
                        logger: logger
                    )
                    for try await _ in rows.decode(Int64.self) { changed = true }
                }
                if let progressText {
                    try await connection.query(
                        "UPDATE mirror_services SET progress = \(progressText) WHERE id = \(id)",
                        logger: logger
                    )
                }
                if changed {
                    // Delivered at commit: the other replicas read at once instead of at their next poll.
                    try await connection.execute(
                        "SELECT pg_notify(\(PostgresSession.channel), \(service))",
                        logger: logger
                    )
                }
                var prunedThrough: Int64 = 0
                for try await value in try await connection.query(
                    "SELECT through FROM mirror_changes_pruned WHERE service = \(id)",
                    logger: logger
                ).decode(Int64.self) { prunedThrough = value }
                return MirrorApplied(
                    changes: try await Self.changes(
                        on: connection,
                        service: id,
                        after: after,
                        limit: Int.max,
                        logger: logger
                    ),
                    conflicted: conflicted,
                    prunedThrough: prunedThrough
                )
            }
        }
    }

    public func progress(service: String) async throws -> MirrorProgress? {
        let text = try await database("reading the mirror's progress") { [self] () async throws -> String? in
            var text: String?
            for try await value in try await client.query(
                "SELECT progress FROM mirror_services WHERE service_id = \(service)",
                logger: logger
            )
            .decode(String?.self) { text = value }
            return text
        }
        guard let text else { return nil }
        return try JSONDecoder().decode(MirrorProgress.self, from: Data(text.utf8))
    }

    public func loadRecords(
        service: String,
        batch: ([MirrorRecord]) -> Void
    ) async throws -> (count: Int, lastSequence: Int64) {
        let id = try await serviceID(service)
        let logger = self.logger
        // Not bounded as a whole (a large list takes a while); each statement is, by `statement_timeout`.
        return try await translating("loading the mirror") {
            try await client.withTransaction(logger: logger) { connection in
                // One snapshot: the records are what the changes up to `sequence` made.
                try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
                var sequence: Int64 = 0
                for try await value in try await connection.query(
                    """
                    SELECT GREATEST(COALESCE((SELECT MAX(seq) FROM mirror_changes WHERE service = \(id)), 0),
                        COALESCE((SELECT through FROM mirror_changes_pruned WHERE service = \(id)), 0))
                    """,
                    logger: logger
                ).decode(Int64.self) { sequence = value }
                var count = 0
                var after = Int64.min
                while true {
                    var records: [MirrorRecord] = []
                    records.reserveCapacity(50_000)
                    let rows = try await connection.query(
                        """
                        SELECT number, registered_at, source FROM mirror_records WHERE service = \(id) AND number > \(after)
                        ORDER BY number LIMIT 50000
                        """,
                        logger: logger
                    )
                    for try await (number, time, source) in rows.decode((Int64, Int64, Int16).self) {
                        records.append(
                            MirrorRecord(
                                key: PhoneKey(rawValue: UInt64(bitPattern: number)),
                                registeredAtMilliseconds: time,
                                source: source == 1 ? .ars : .manual
                            )
                        )
                        after = number
                    }
                    guard !records.isEmpty else { break }
                    batch(records)
                    count += records.count
                }
                return (count, sequence)
            }
        }
    }

    public func changes(service: String, after sequence: Int64, limit: Int) async throws -> [MirrorChange] {
        let id = try await serviceID(service)
        let logger = self.logger
        return try await database("reading the change table") { [self] in
            try await client.withConnection { connection in
                try await Self.changes(on: connection, service: id, after: sequence, limit: limit, logger: logger)
            }
        }
    }

    public func pruneChanges(service: String, observedBefore cutoff: Int64, limit: Int) async throws -> Int {
        let id = try await serviceID(service)
        let logger = self.logger
        let client = self.client
        return try await database("pruning the change table") {
            try await client.withTransaction(logger: logger) { connection in
                // No write lock: a write of the service that has not committed holds a higher sequence than any row
                // read here (writes of a service commit in sequence order), and deleting old rows blocks no insert.
                var oldest: [(sequence: Int64, observedAt: Int64)] = []
                for try await (seq, observed) in try await connection.query(
                    "SELECT seq, observed_at FROM mirror_changes WHERE service = \(id) ORDER BY seq LIMIT \(Int64(limit))",
                    logger: logger
                ).decode((Int64, Int64).self) { oldest.append((seq, observed)) }
                guard let (count, through) = ChangeFeedStart.prunable(oldest, observedBefore: cutoff) else { return 0 }
                try await connection.query(
                    "DELETE FROM mirror_changes WHERE service = \(id) AND seq <= \(through)",
                    logger: logger
                )
                try await connection.query(
                    """
                    INSERT INTO mirror_changes_pruned (service, through) VALUES (\(id), \(through))
                    ON CONFLICT (service) DO UPDATE SET through = GREATEST(mirror_changes_pruned.through, excluded.through)
                    """,
                    logger: logger
                )
                return count
            }
        }
    }

    public func changeFeedStart(service: String) async throws -> ChangeFeedStart {
        let id = try await serviceID(service)
        return try await database("reading where the change feed starts") { [self] () async throws -> ChangeFeedStart in
            var start = ChangeFeedStart(prunedThrough: 0)
            for try await (through, seq, observed) in try await client.query(
                """
                SELECT COALESCE((SELECT through FROM mirror_changes_pruned WHERE service = \(id)), 0),
                    oldest.seq, oldest.observed_at
                FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT seq, observed_at FROM mirror_changes
                    WHERE service = \(id) ORDER BY seq LIMIT 1) AS oldest ON true
                """,
                logger: logger
            ).decode((Int64, Int64?, Int64?).self) {
                start = ChangeFeedStart(
                    prunedThrough: through,
                    oldestKeptSequence: seq,
                    oldestKeptObservedAtMilliseconds: observed
                )
            }
            return start
        }
    }

    public func storeID() async throws -> String {
        if let id = cachedStoreID.withLock({ $0 }) { return id }
        let id = try await database("reading the store id") { [self] () async throws -> String? in
            var id: String?
            for try await value in try await client.query(
                "SELECT value FROM mirror_meta WHERE key = 'store_id'",
                logger: logger
            )
            .decode(String.self) { id = value }
            return id
        }
        guard let id else { throw MirrorStoreError.corrupt("no store id") }
        cachedStoreID.withLock { $0 = id }
        return id
    }

    /// Ends the session (giving up this replica's leads) and the pool; later calls do nothing.
    public func close() async throws {
        guard
            !closed.withLock({ closed in
                defer { closed = true }
                return closed
            })
        else { return }
        await session.close()
        clientTask.cancel()
        await clientTask.value
    }

    static func writeLockName(_ service: String) -> String { "sens-gateway mirror write " + service }

    private static func changes(
        on connection: PostgresConnection,
        service id: Int32,
        after sequence: Int64,
        limit: Int,
        logger: Logger
    ) async throws -> [MirrorChange] {
        let rows = try await connection.query(
            """
            SELECT seq, number, change, registered_at, source, observed_at, origin FROM mirror_changes
            WHERE service = \(id) AND seq > \(sequence) ORDER BY seq LIMIT \(Int64(min(limit, Int(Int64.max))))
            """,
            logger: logger
        )
        var changes: [MirrorChange] = []
        for try await (seq, number, change, time, source, observed, origin) in rows.decode(
            (Int64, Int64, Int16, Int64?, Int16?, Int64, Int16).self
        ) {
            guard let kind = MirrorChange.Kind(rawValue: Int(change)) else {
                throw MirrorStoreError.corrupt("a change of kind \(change)")
            }
            changes.append(
                MirrorChange(
                    sequence: seq,
                    key: PhoneKey(rawValue: UInt64(bitPattern: number)),
                    kind: kind,
                    registeredAtMilliseconds: time,
                    source: source.map { $0 == 1 ? .ars : .manual },
                    observedAtMilliseconds: observed,
                    origin: origin == 1 ? .gateway : .sync
                )
            )
        }
        return changes
    }

    /// The row id of a service, created on first use.
    private func serviceID(_ service: String) async throws -> Int32 {
        if let id = serviceIDs.id(of: service) { return id }
        let id = try await database("registering the service") { [self] () async throws -> Int32? in
            try await client.query(
                "INSERT INTO mirror_services (service_id) VALUES (\(service)) ON CONFLICT (service_id) DO NOTHING",
                logger: logger
            )
            var id: Int32?
            for try await value in try await client.query(
                "SELECT id FROM mirror_services WHERE service_id = \(service)",
                logger: logger
            )
            .decode(Int32.self) { id = value }
            return id
        }
        guard let id else { throw MirrorStoreError.corrupt("no row for service \(service)") }
        serviceIDs.remember(id, for: service)
        return id
    }

    /// `body` within `timeout`, turning a database error into one that says what failed; at once, with the
    /// cause, while the server is known to be out of reach (`StoreOutage`).
    private func database<T: Sendable>(
        _ what: String,
        within limit: Duration? = nil,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        if let outage = outage.explanation { throw MirrorStoreError.database("\(what) failed: \(outage)") }
        return try await translating(what) { try await self.withTimeout(limit ?? self.timeout, body) }
    }

    /// Runs `body`, turning a database error into one that says what failed without the statement or its values.
    private func translating<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresTimeout {
            // A write with little time left that ran out says nothing of whether the server can be reached.
            if error.whole { outage.failed("\(error)") }
            throw MirrorStoreError.database("\(what) failed: \(error)")
        } catch let error as MirrorStoreError {
            throw error
        } catch let error as PostgresTransactionError where error.closureError is MirrorLeadLost {
            throw error.closureError!
        } catch {
            let underlying =
                (error as? PostgresTransactionError)?.closureError ?? (error as? PostgresTransactionError)?.beginError
                ?? error
            let failure = PostgresFailure(underlying)
            if failure.unreachable { outage.failed(failure.description) }
            throw MirrorStoreError.database("\(what) failed: \(failure)")
        }
    }

    struct PostgresTimeout: Error, CustomStringConvertible {
        let limit: Duration
        /// The store's whole time-out, not what was left of a write's.
        let whole: Bool
        var description: String {
            let seconds = Double(limit.totalMilliseconds) / 1000
            return whole
                ? "the server did not answer within \(limit.components.seconds) s (mirror.databaseTimeoutSeconds)"
                : "the write did not finish within the \(seconds) s left of its time-out (mirror.databaseTimeoutSeconds)"
        }
    }

    /// `body`, or a timeout error after `limit`. The caller gets its answer then, even when `body` cannot be
    /// cancelled (a query on a connection whose peer vanished): `body` is left to end on its own, holding at most
    /// one of the pool's connections.
    private func withTimeout<T: Sendable>(
        _ limit: Duration,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let work = Task { try await body() }
        let outcome = FirstOutcome<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.set(continuation)
                let timer = Task {
                    try await Task.sleep(for: limit)
                    work.cancel()
                    outcome.resume(with: .failure(PostgresTimeout(limit: limit, whole: limit >= self.timeout)))
                }
                Task {
                    let result = await work.result
                    timer.cancel()
                    outcome.resume(with: result)
                }
            }
        } onCancel: {
            work.cancel()
        }
    }
}

extension PostgresConnection {
    /// Runs a statement and reads its rows to the end: an error the server sends after the first row's description
    /// (a lock wait cut short by `statement_timeout`) is thrown here, not by the next statement as `25P02`.
    func execute(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await self.query(query, logger: logger) {}
    }
}

/// Resumes a continuation with whichever outcome comes first; later ones are dropped.
private final class FirstOutcome<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(with result: Result<T, any Error>) {
        continuation.withLock { continuation in
            defer { continuation = nil }
            return continuation
        }?.resume(with: result)
    }
}
