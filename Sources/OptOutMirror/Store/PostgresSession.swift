import Logging
import PostgresNIO
import Synchronization

/// This replica's own session with the shared store, beside the pool: it holds the session-level advisory locks
/// that make this replica the one that syncs a service, and it LISTENs for the changes the other replicas make.
/// It is pinged every second; a session that ends (the database restarted, the network failed, a ping not answered
/// within the timeout) gives up every lead at once, as the server releases its locks when the session goes, and is
/// opened again a second later.
final class PostgresSession: MirrorCoordination {
    /// The channel every replica notifies after a transaction that changed a service's list; the payload is the
    /// SENS service id.
    static let channel = "sens_gateway_mirror"
    static let pingInterval = Duration.seconds(1)

    private struct State {
        var connection: PostgresConnection?
        /// The server process of the session: a sync's writes check that it still holds their service's lock.
        var backendPID: Int32?
        /// Counts sessions: a lead taken on a session that has since ended is not held.
        var epoch = 0
        var leads: Set<String> = []
        var observers: [String: [Int: @Sendable () -> Void]] = [:]
        var nextObserver = 0
        var lastAnswer = ContinuousClock.now
    }

    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let configuration: PostgresConnection.Configuration
    private let timeout: Duration
    /// Set when the session cannot reach the server, cleared when it opens or answers a ping.
    private let outage: StoreOutage
    private let logger: Logger

    init(configuration: PostgresConnection.Configuration, timeout: Duration, outage: StoreOutage, logger: Logger) {
        self.configuration = configuration
        self.timeout = timeout
        self.outage = outage
        self.logger = logger
    }

    var shared: Bool { true }

    func start() {
        task.withLock { $0 = Task { await self.keepOpen() } }
    }

    /// Ends the session: the server releases this replica's leads.
    func close() async {
        guard
            let running = task.withLock({ task in
                defer { task = nil }
                return task
            })
        else { return }
        running.cancel()
        await running.value
    }

    func lead(_ service: String) async -> Bool {
        let (connection, epoch, held) = state.withLock { ($0.connection, $0.epoch, $0.leads.contains(service)) }
        if held { return true }
        guard let connection else { return false }
        do {
            let rows = try await connection.query(
                "SELECT pg_try_advisory_lock(hashtextextended(\(Self.lockName(service)), 0)) AS got",
                logger: logger
            )
            for try await got in rows.decode(Bool.self) where got {
                return state.withLock { state in
                    guard state.epoch == epoch else { return false }
                    state.leads.insert(service)
                    return true
                }
            }
        } catch {
            logger.debug("asking for a mirror lead failed", metadata: ["error": "\(PostgresFailure(error))"])
        }
        return false
    }

    func holdsLead(_ service: String) -> Bool {
        state.withLock { $0.leads.contains(service) }
    }

    func resign(_ service: String) async {
        let connection = state.withLock { state -> PostgresConnection? in
            guard state.leads.remove(service) != nil else { return nil }
            return state.connection
        }
        guard let connection else { return }
        do {
            try await connection.execute(
                "SELECT pg_advisory_unlock(hashtextextended(\(Self.lockName(service)), 0))",
                logger: logger
            )
        } catch {
            // The lock cannot be given back on a session that fails: end the session, which releases it.
            try? await connection.close()
        }
    }

    /// The server process id of the session that holds `service`'s lead, for the fence in a sync's transaction.
    func fence(_ service: String) -> Int32? {
        state.withLock { $0.leads.contains(service) ? $0.backendPID : nil }
    }

    func observeChanges(of service: String, signal: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
        let id = state.withLock { state in
            state.nextObserver += 1
            state.observers[service, default: [:]][state.nextObserver] = signal
            return state.nextObserver
        }
        return { [weak self] in _ = self?.state.withLock { $0.observers[service]?.removeValue(forKey: id) } }
    }

    /// The advisory lock a service's syncing replica holds (a 64-bit hash of this text).
    static func lockName(_ service: String) -> String { "sens-gateway mirror sync " + service }

    /// Learns the session's server process, and asks the server to end the session when this replica goes silent
    /// (cut off from it), so that its locks are released: a little after this replica itself stops acting on them.
    private func prepare(_ connection: PostgresConnection) async throws {
        var pid: Int32?
        for try await value in try await connection.query("SELECT pg_backend_pid()", logger: logger).decode(Int32.self)
        { pid = value }
        let idle = 2 * (Self.pingInterval + timeout).components.seconds + 2
        do {
            try await connection.query(
                PostgresQuery(unsafeSQL: "SET idle_session_timeout = '\(idle)s'"),
                logger: logger
            )
        } catch {
            // PostgreSQL 13 has no such setting: TCP keep-alives (below) are what ends a cut-off session there.
            logger.notice(
                "the shared store has no idle_session_timeout (PostgreSQL 13): a replica cut off from it keeps its sync leads until TCP keep-alives end its session"
            )
        }
        for setting in ["tcp_keepalives_idle = 5", "tcp_keepalives_interval = 2", "tcp_keepalives_count = 3"] {
            _ = try? await connection.query(PostgresQuery(unsafeSQL: "SET " + setting), logger: logger)
        }
        state.withLock { state in
            state.connection = connection
            state.backendPID = pid
            state.lastAnswer = .now
        }
    }

    private func notify(_ service: String?) {
        let observers = state.withLock { state in
            service.map { Array((state.observers[$0] ?? [:]).values) } ?? state.observers.values.flatMap(\.values)
        }
        for observer in observers { observer() }
    }

    private func keepOpen() async {
        var reported = false
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration,
                    id: 1,
                    logger: logger
                )
                if reported { logger.notice("the mirror's session with the shared store is open again") }
                reported = false
                outage.reached()
                await hold(connection)
            } catch {
                if !Task.isCancelled { outage.failed(PostgresFailure(error).description) }
                if !reported, !Task.isCancelled {
                    logger.warning(
                        "the mirror cannot open its session with the shared store; this replica syncs nothing until it can",
                        metadata: ["error": "\(PostgresFailure(error))"]
                    )
                }
                reported = true
            }
            let hadLeads = state.withLock { state in
                defer {
                    state.connection = nil
                    state.backendPID = nil
                    state.leads = []
                    state.epoch += 1
                }
                return !state.leads.isEmpty
            }
            if hadLeads, !Task.isCancelled {
                logger.warning("the mirror's session with the shared store ended: this replica gave up syncing")
            }
            // Followers read at once: they learn whether the store still answers.
            notify(nil)
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Listens and pings on `connection` until it fails or the task is cancelled, then closes it.
    private func hold(_ connection: PostgresConnection) async {
        state.withLock { $0.lastAnswer = .now }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await self.prepare(connection)
                    while true {
                        try await Task.sleep(for: Self.pingInterval)
                        try await connection.execute("SELECT 1", logger: self.logger)
                        self.state.withLock { $0.lastAnswer = .now }
                        self.outage.reached()
                    }
                }
                group.addTask {
                    try await connection.listen(on: Self.channel) { notifications in
                        for try await notification in notifications { self.notify(notification.payload) }
                    }
                    throw PostgresSessionEnded("its notifications ended")
                }
                group.addTask {
                    // A query the network swallowed never fails by itself: closing the connection fails it.
                    while true {
                        try await Task.sleep(for: .milliseconds(250))
                        let silent = ContinuousClock.now - self.state.withLock { $0.lastAnswer }
                        if silent > Self.pingInterval + self.timeout {
                            throw PostgresSessionEnded("a ping was not answered in time")
                        }
                    }
                }
                defer { group.cancelAll() }
                do { _ = try await group.next() } catch {
                    try? await connection.close()
                    throw error
                }
            }
        } catch {
            if !Task.isCancelled {
                outage.failed(PostgresFailure(error).description)
                logger.warning(
                    "the mirror's session with the shared store failed",
                    metadata: ["error": "\(PostgresFailure(error))"]
                )
            }
        }
        try? await connection.close()
    }
}

struct PostgresSessionEnded: Error, CustomStringConvertible {
    let description: String
    init(_ why: String) { description = "the session ended: " + why }
}

/// What can be shown of a database error: PostgreSQL's error code and message, or postgres-nio's error kind;
/// never the statement, its values or the server's detail (which can quote a phone number).
struct PostgresFailure: CustomStringConvertible {
    let description: String
    /// Whether the server could not be reached (a refused, dropped or timed-out connection), not an error it gave.
    var unreachable = false

    init(_ error: any Error) {
        if let error = error as? PSQLError {
            // A PSQLError wrapping another says nothing of its own: the inner one's words.
            if error.serverInfo == nil, let inner = error.underlying as? PSQLError {
                self = PostgresFailure(inner)
                return
            }
            var text = "\(error.code)"
            if let state = error.serverInfo?[.sqlState] { text += " \(state)" }
            if let message = error.serverInfo?[.message] { text += ": \(message)" }
            // A connection's own failure (refused, reset, TLS): NIO's words, which hold no statement or value.
            if error.serverInfo == nil, let underlying = error.underlying { text += ": \(underlying)" }
            description = text
            unreachable = [.connectionError, .serverClosedConnection, .uncleanShutdown].contains(error.code)
        } else {
            description = "\(error)"
        }
    }
}
