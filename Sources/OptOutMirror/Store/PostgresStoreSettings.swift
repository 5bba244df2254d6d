#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where the shared store is and how the gateway talks to it, read from a `postgres://` URL. The password is kept
/// out of every description: `maskedURL` is what logs and errors show.
public struct PostgresStoreSettings: Sendable, Equatable {
    /// How the connection is encrypted (the URL's `sslmode`). Unlike libpq's `prefer` and `require`, the server's
    /// certificate is always verified against the system's trusted roots when TLS is used.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Never TLS.
        case disable
        /// TLS when the server offers it (the default).
        case prefer
        /// TLS or no connection.
        case require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// Connections the pool holds at most (the session connection that holds locks and listens is one more).
    public var poolSize: Int
    /// Connecting, and each statement (`statement_timeout`), give up after this.
    public var timeout: Duration

    public init(
        host: String,
        port: Int = 5432,
        username: String,
        password: String?,
        database: String,
        tls: TLSMode = .prefer,
        poolSize: Int,
        timeout: Duration
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.poolSize = poolSize
        self.timeout = timeout
    }

    /// Reads `postgres://user:password@host:port/database?sslmode=disable|prefer|require` (`postgresql://` too;
    /// user, password and database percent-decoded). Anything else in the URL is refused, not ignored.
    public static func parse(
        url text: String,
        poolSize: Int,
        timeout: Duration
    ) throws(PostgresURLError)
        -> PostgresStoreSettings
    {
        let lowered = text.lowercased()
        guard lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") else {
            throw PostgresURLError("is not a postgres:// URL")
        }
        guard let components = URLComponents(string: text) else {
            throw PostgresURLError(
                "cannot be read as a URL: percent-encode the reserved characters (@ : / ? # % and spaces) in the user and password"
            )
        }
        // A `%` must start an escape: a password with a stray one would be sent as something else. (Read from the
        // text itself: the parser quietly re-encodes a stray `%`.)
        let authority = text.drop { $0 != ":" }.dropFirst(3).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") {
            let userInfo = Array(authority[..<at].utf8)
            for (index, byte) in userInfo.enumerated() where byte == UInt8(ascii: "%") {
                guard index + 2 < userInfo.count, userInfo[index + 1].isHexDigit, userInfo[index + 2].isHexDigit else {
                    throw PostgresURLError(
                        "has a % in its user or password that is not followed by two hexadecimal digits: write % as %25"
                    )
                }
            }
        }
        guard let host = components.host, !host.isEmpty else { throw PostgresURLError("names no host") }
        guard let username = components.user, !username.isEmpty else {
            throw PostgresURLError("names no user (postgres://USER:PASSWORD@HOST/DATABASE)")
        }
        let database = String(components.path.dropFirst())
        guard components.path.hasPrefix("/"), !database.isEmpty, !database.contains("/") else {
            throw PostgresURLError("names no database (postgres://USER:PASSWORD@HOST/DATABASE)")
        }
        guard components.fragment == nil else { throw PostgresURLError("has a #fragment") }
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else {
                throw PostgresURLError("has the parameter \"\(item.name)\"; only sslmode is read")
            }
            guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                throw PostgresURLError("has sslmode=\(item.value ?? ""); expected disable, prefer or require")
            }
            tls = mode
        }
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw PostgresURLError("has port \(port)") }
        return PostgresStoreSettings(
            host: host,
            port: port,
            username: username,
            password: components.password.flatMap { $0.isEmpty ? nil : $0 },
            database: database,
            tls: tls,
            poolSize: poolSize,
            timeout: timeout
        )
    }

    /// The URL with its password replaced by `****`: what the gateway shows.
    public var maskedURL: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return
            "postgres://\(username)\(password == nil ? "" : ":****")@\(hostPart):\(port)/\(database)?sslmode=\(tls.rawValue)"
    }
}

extension PostgresStoreSettings: CustomStringConvertible, CustomDebugStringConvertible {
    /// The masked URL: printing the settings never shows the password.
    public var description: String { maskedURL + " (pool \(poolSize), timeout \(timeout))" }
    public var debugDescription: String { description }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
    }
}

/// What is wrong with a `postgres://` URL; never quotes the URL itself, which holds a password.
public struct PostgresURLError: Error, CustomStringConvertible {
    public let description: String
    init(_ problem: String) { description = "the database URL " + problem }
}
