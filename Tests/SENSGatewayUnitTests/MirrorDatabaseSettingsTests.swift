import Foundation
import OptOutMirror
import SENSGateway
import Testing

/// `MIRROR_DATABASE_URL` and its companions: read strictly, the password never shown.
@Suite("Mirror database settings")
struct MirrorDatabaseSettingsTests {
    let complete = [
        "SENS_ACCESS_KEY": "AK", "SENS_SECRET_KEY": "SK", "SENS_SERVICE_ID": "ncp:sms:kr:123456789012:sens",
    ]

    @Test func readsTheURLAndMasksItsPassword() throws {
        let settings = try PostgresStoreSettings.parse(
            url: "postgresql://mirror%40app:p%3Ass%2Fw0rd@db.internal:6543/sens_mirror?sslmode=require"
        )
        #expect(settings.username == "mirror@app")
        #expect(settings.password == "p:ss/w0rd")
        #expect(settings.host == "db.internal")
        #expect(settings.port == 6543)
        #expect(settings.database == "sens_mirror")
        #expect(settings.tls == .require)
        #expect(settings.maskedURL == "postgres://mirror@app:****@db.internal:6543/sens_mirror?sslmode=require")
        let plain = try PostgresStoreSettings.parse(url: "postgres://gateway@127.0.0.1/mirror")
        #expect(plain.port == 5432)
        #expect(plain.password == nil)
        #expect(plain.tls == .prefer)
        #expect(plain.maskedURL == "postgres://gateway@127.0.0.1:5432/mirror?sslmode=prefer")
    }

    @Test(arguments: [
        ("http://u:p@h/d", "the database URL is not a postgres:// URL"),
        ("postgres://u:p@/d", "the database URL names no host"),
        ("postgres://h/d", "the database URL names no user (postgres://USER:PASSWORD@HOST/DATABASE)"),
        ("postgres://u:p@h", "the database URL names no database (postgres://USER:PASSWORD@HOST/DATABASE)"),
        ("postgres://u:p@h/d/e", "the database URL names no database (postgres://USER:PASSWORD@HOST/DATABASE)"),
        (
            "postgres://u:p@h/d?sslmode=verify-ca",
            "the database URL has sslmode=verify-ca; expected disable, prefer or require"
        ),
        (
            "postgres://u:p@h/d?connect_timeout=3",
            "the database URL has the parameter \"connect_timeout\"; only sslmode is read"
        ),
        ("postgres://u:p@h:0/d", "the database URL has port 0"),
        (
            "postgres://u:p@ss:w#rd@h/d",
            "the database URL cannot be read as a URL: percent-encode the reserved characters (@ : / ? # % and spaces) in the user and password"
        ),
        (
            "postgres://u:top%ZZsecret@h/d",
            "the database URL has a % in its user or password that is not followed by two hexadecimal digits: write % as %25"
        ),
        (
            "postgres://u:secret%2@h/d",
            "the database URL has a % in its user or password that is not followed by two hexadecimal digits: write % as %25"
        ),
    ])
    func refusesURLsItCannotUse(url: String, problem: String) {
        #expect(throws: PostgresURLError.self) { try PostgresStoreSettings.parse(url: url) }
        do {
            _ = try PostgresStoreSettings.parse(url: url)
        } catch {
            #expect(error.description == problem)
            #expect(!error.description.contains(":p@"))
        }
    }

    @Test func readsTheURLFromAFileAndTheSizes() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("database-url-\(UUID().uuidString)")
            .path
        try "postgres://gateway:hunter2@db:5432/mirror?sslmode=disable\n".write(
            toFile: path,
            atomically: true,
            encoding: .utf8
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try GatewayStartup.configuration(
            arguments: ["sens-gateway", "--mirror-database-pool-size", "12"],
            environment: complete.merging(["MIRROR_DATABASE_URL_FILE": path, "MIRROR_DATABASE_TIMEOUT_SECONDS": "9"]) {
                $1
            }
        ).get()
        let database = try #require(configuration.mirror.database)
        #expect(database.password == "hunter2")
        #expect(database.poolSize == 12)
        #expect(database.timeout == .seconds(9))
        #expect(database.tls == .disable)
        // Without a URL, the embedded store.
        #expect(
            try GatewayStartup.configuration(arguments: ["sens-gateway"], environment: complete).get().mirror.database
                == nil
        )
    }

    /// A URL that cannot be used stops start-up with one line that never holds the password.
    @Test(
        arguments: [
            (
                ["MIRROR_DATABASE_URL": "postgres://gateway:hunter2@db/mirror?sslmode=maybe"],
                "sens-gateway: configuration error: mirror.databaseUrl (MIRROR_DATABASE_URL, --mirror-database-url): the database URL has sslmode=maybe; expected disable, prefer or require"
            ),
            (
                [
                    "MIRROR_DATABASE_URL": "postgres://gateway:hunter2@db/mirror",
                    "MIRROR_PATH": "/var/lib/mirror.sqlite",
                ],
                "sens-gateway: configuration error: set mirror.path (MIRROR_PATH, --mirror-path) or the database URL (mirror.databaseUrl (MIRROR_DATABASE_URL, --mirror-database-url)), not both"
            ),
            (
                [
                    "MIRROR_DATABASE_URL": "postgres://gateway:hunter2@db/mirror",
                    "MIRROR_DATABASE_URL_FILE": "/run/secrets/url",
                ],
                "sens-gateway: configuration error: set mirror.databaseUrl (MIRROR_DATABASE_URL, --mirror-database-url) or mirror.databaseUrlFile (MIRROR_DATABASE_URL_FILE, --mirror-database-url-file), not both"
            ),
            (
                ["MIRROR_DATABASE_URL_FILE": "/nonexistent/url"],
                #"sens-gateway: configuration error: mirror.databaseUrlFile (MIRROR_DATABASE_URL_FILE, --mirror-database-url-file) "/nonexistent/url" cannot be read"#
            ),
            (
                ["SIMULATOR": "true", "MIRROR_DATABASE_URL": "postgres://gateway:hunter2@db/mirror"],
                "sens-gateway: configuration error: --simulator keeps its mirror in memory or in a file: it does not take mirror.databaseUrl (MIRROR_DATABASE_URL) or mirror.databaseUrlFile"
            ),
            (
                ["MIRROR_DATABASE_URL": "postgres://gateway:hunter2@db/mirror", "MIRROR_DATABASE_POOL_SIZE": "0"],
                #"sens-gateway: configuration error: mirror.databasePoolSize (MIRROR_DATABASE_POOL_SIZE, --mirror-database-pool-size) is "0"; expected a whole number from 1 to 100"#
            ),
        ] as [([String: String], String)]
    )
    func refusesToStart(changes: [String: String], line: String) {
        let result = GatewayStartup.configuration(
            arguments: ["sens-gateway"],
            environment: complete.merging(changes) { $1 }
        )
        guard case .failure(let failure) = result else {
            Issue.record("started despite \(changes)")
            return
        }
        #expect(failure.line == line)
        #expect(!failure.line.contains("hunter2"))
    }
}
