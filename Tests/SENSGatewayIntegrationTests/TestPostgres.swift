import Foundation
import Logging
import OptOutMirror
import PostgresNIO
import SENSGateway
import Testing

/// The PostgreSQL server the tests of the shared store use, named by `SENS_GATEWAY_TEST_DATABASE_URL` (a URL whose
/// user may create databases; `scripts/test` starts a throwaway cluster and sets it). Each test gets a database of
/// its own, dropped after it.
enum TestPostgres {
    static let variable = "SENS_GATEWAY_TEST_DATABASE_URL"

    /// The server, or an error that says how to get one: these tests are never skipped.
    static func server() throws -> PostgresStoreSettings {
        guard let url = ProcessInfo.processInfo.environment[variable] else {
            throw TestPostgresError(
                "\(variable) is not set: run the tests with scripts/test, which starts a throwaway PostgreSQL, "
                    + "or point it at a server, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
            )
        }
        return try PostgresStoreSettings.parse(url: url)
    }

    /// Runs `body` with a new, empty database on the test server, and drops it after.
    static func withDatabase<T>(_ body: (PostgresStoreSettings) async throws -> T) async throws -> T {
        let server = try server()
        let name =
            "sens_mirror_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try await admin(server, "CREATE DATABASE \(name)")
        var database = server
        database.database = String(name)
        do {
            let value = try await body(database)
            try? await admin(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            return value
        } catch {
            try? await admin(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
    }

    /// The URL a gateway process is given for `database`, reaching the server through `port` when given (a proxy).
    static func url(_ database: PostgresStoreSettings, port: Int? = nil) -> String {
        let user = database.username.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? database.username
        let password =
            database.password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) }
            ?? ""
        return
            "postgres://\(user)\(password)@\(database.host):\(port ?? database.port)/\(database.database)?sslmode=\(database.tls.rawValue)"
    }

    /// A connection of its own to `database`, for a test that plays another client of it.
    static func connection(to database: PostgresStoreSettings) async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            configuration: PostgresConnection.Configuration(
                host: database.host,
                port: database.port,
                username: database.username,
                password: database.password,
                database: database.database,
                tls: .disable
            ),
            id: 2,
            logger: Logger(label: "test-postgres")
        )
    }

    private static func admin(_ server: PostgresStoreSettings, _ statement: String) async throws {
        let configuration = PostgresConnection.Configuration(
            host: server.host,
            port: server.port,
            username: server.username,
            password: server.password,
            database: server.database,
            tls: .disable
        )
        let connection = try await PostgresConnection.connect(
            configuration: configuration,
            id: 1,
            logger: Logger(label: "test-postgres")
        )
        do {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Logger(label: "test-postgres"))
        } catch {
            try? await connection.close()
            throw TestPostgresError("\(statement) failed: \(String(reflecting: error))")
        }
        try await connection.close()
    }
}

struct TestPostgresError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The two stores the mirror tests run on: one suite, two stores.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// Where a test keeps a mirror's store across gateways (a restart test opens it again): a temporary SQLite file,
/// or a database of its own on the test PostgreSQL.
struct StoreLocation: Sendable {
    let kind: StoreKind
    let path: String?
    let database: PostgresStoreSettings?

    /// A new, empty location for the length of `body`, removed after it.
    static func with<T>(_ kind: StoreKind, _ body: (StoreLocation) async throws -> T) async throws -> T {
        switch kind {
        case .sqlite:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent(
                "mirror-\(UUID().uuidString).sqlite"
            ).path
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
            return try await body(StoreLocation(kind: kind, path: path, database: nil))
        case .postgres:
            return try await TestPostgres.withDatabase {
                try await body(StoreLocation(kind: kind, path: nil, database: $0))
            }
        }
    }

    /// The store, opened and migrated.
    func open() async throws -> any MirrorStore {
        let store: any MirrorStore
        if let database {
            store = try await PostgresMirrorStore.open(settings: database, logger: Logger(label: "store"))
        } else {
            store = try await SQLiteMirrorStore.open(path: path, logger: Logger(label: "store"))
        }
        try await store.migrate()
        return store
    }
}
