import Logging
import OptOutMirror
import OptOuts
import SENSClient
import SENSCore

/// Everything the gateway needs to start, read and validated once (`GatewayConfiguration+Reading.swift`).
public struct GatewayConfiguration: Sendable {
    public var http: HTTPSettings
    /// Which SENS the gateway talks to: the configured services, or an in-process simulator.
    public var upstream: Upstream
    /// The service the unprefixed `/v1/unsubscribes…` routes address.
    public var defaultService: String
    /// How every SENS call is made, whichever the service.
    public var calls: SENSCallSettings
    public var cache: CacheSettings
    public var resilience: ResilienceSettings
    public var mirror: MirrorConfiguration
    public var log: LogSettings
    /// OpenTelemetry traces; nil when off.
    public var tracing: TracingConfiguration?

    /// The mirror of each service's opt-out list, and the filter that reads it.
    public struct MirrorConfiguration: Sendable {
        public var enabled: Bool
        /// The SQLite file, or nil to keep the store in memory; unused when `database` is set.
        public var path: String?
        /// The PostgreSQL that replicas share the mirror through, when set.
        public var database: PostgresStoreSettings?
        public var settings: MirrorSettings
        public var filterMaxBodyBytes: Int

        public static let defaultPath = "./sens-mirror.sqlite"

        public init(
            enabled: Bool,
            path: String?,
            database: PostgresStoreSettings?,
            settings: MirrorSettings,
            filterMaxBodyBytes: Int
        ) {
            self.enabled = enabled
            self.path = path
            self.database = database
            self.settings = settings
            self.filterMaxBodyBytes = filterMaxBodyBytes
        }
    }

    public enum Upstream: Sendable {
        /// NCP SENS, one entry per configured service.
        case sens([Service])
        /// An in-process simulator hosting these service names, with keys made at start, on this loopback port
        /// (0: a free one).
        case simulator(serviceNames: [String], port: Int)
    }

    /// One SENS service by the name the gateway's routes use.
    public struct Service: Sendable {
        public var name: String
        public var sens: SENSServiceSettings

        public init(name: String, sens: SENSServiceSettings) {
            self.name = name
            self.sens = sens
        }
    }

    public struct SENSCallSettings: Sendable {
        public var baseURL: SENSBaseURL
        public var registerTimeOffsetSeconds: Int
        public var connectTimeoutMilliseconds: Int
        public var attemptTimeoutMilliseconds: Int
        /// The egress proxy to SENS, if one is set (`EgressProxy`).
        public var proxy: EgressProxy?

        public init(
            baseURL: SENSBaseURL,
            registerTimeOffsetSeconds: Int,
            connectTimeoutMilliseconds: Int,
            attemptTimeoutMilliseconds: Int,
            proxy: EgressProxy? = nil
        ) {
            self.proxy = proxy
            self.baseURL = baseURL
            self.registerTimeOffsetSeconds = registerTimeOffsetSeconds
            self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
            self.attemptTimeoutMilliseconds = attemptTimeoutMilliseconds
        }

        /// One service at `baseURL` called with these settings.
        public func service(credentials: NCPCredentials, serviceID: String, baseURL: SENSBaseURL) -> SENSServiceSettings
        {
            SENSServiceSettings(
                credentials: credentials,
                serviceID: serviceID,
                baseURL: baseURL,
                registerTimeOffsetSeconds: registerTimeOffsetSeconds,
                connectTimeoutMilliseconds: connectTimeoutMilliseconds,
                attemptTimeoutMilliseconds: attemptTimeoutMilliseconds,
                proxy: proxy
            )
        }
    }

    public struct HTTPSettings: Sendable {
        public var host: String
        public var port: Int
        /// Larger request bodies are refused with 413.
        public var maxBodyBytes: Int
        /// Connections idle (nothing read or written) for this long are closed.
        public var idleTimeoutSeconds: Int
        /// Open connections at most (`ConnectionLimit`).
        public var maxConnections: Int
        /// On SIGTERM, answers in flight get this long to finish.
        public var drainSeconds: Int

        /// Each value left out is the settings table's default.
        public init(
            host: String = GatewaySettings.defaultText("http.host"),
            port: Int = GatewaySettings.defaultInteger("http.port"),
            maxBodyBytes: Int = GatewaySettings.defaultInteger("http.maxBodyBytes"),
            idleTimeoutSeconds: Int = GatewaySettings.defaultInteger("http.idleTimeoutSeconds"),
            maxConnections: Int = GatewaySettings.defaultInteger("http.maxConnections"),
            drainSeconds: Int = GatewaySettings.defaultInteger("http.drainSeconds")
        ) {
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.idleTimeoutSeconds = idleTimeoutSeconds
            self.maxConnections = maxConnections
            self.drainSeconds = drainSeconds
        }
    }

    public struct LogSettings: Sendable {
        public enum Format: String, Sendable, CaseIterable {
            case text, json
        }

        public var level: Logger.Level
        public var format: Format

        public init(level: Logger.Level, format: Format) {
            self.level = level
            self.format = format
        }
    }

    /// Read from the settings (`GatewayConfiguration+Reading.swift`); `defaults` holds the settings table's.
    public init(
        http: HTTPSettings,
        upstream: Upstream,
        defaultService: String?,
        calls: SENSCallSettings,
        cache: CacheSettings,
        resilience: ResilienceSettings,
        mirror: MirrorConfiguration,
        log: LogSettings,
        tracing: TracingConfiguration? = nil
    ) {
        self.tracing = tracing
        self.http = http
        self.mirror = mirror
        self.upstream = upstream
        self.calls = calls
        self.cache = cache
        self.resilience = resilience
        self.log = log
        switch upstream {
        case .sens(let services): self.defaultService = defaultService ?? services.first?.name ?? "default"
        case .simulator(let names, _): self.defaultService = defaultService ?? names.first ?? "default"
        }
    }

    public var isSimulator: Bool {
        if case .simulator = upstream { return true }
        return false
    }

    /// The services of a simulator at `baseURL` accepting `credentials`: each configured name with a made-up id.
    public func simulatedServices(baseURL: SENSBaseURL, credentials: NCPCredentials) -> [Service] {
        guard case .simulator(let names, _) = upstream else { return [] }
        return names.map { name in
            Service(
                name: name,
                sens: calls.service(
                    credentials: credentials,
                    serviceID: Self.simulatedServiceID(name),
                    baseURL: baseURL
                )
            )
        }
    }

    public static func simulatedServiceID(_ name: String) -> String { "ncp:sms:kr:000000000000:\(name)" }
}

public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
