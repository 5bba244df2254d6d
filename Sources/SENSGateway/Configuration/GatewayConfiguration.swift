import Configuration
import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything the gateway needs to start, read and validated once. A problem is one clear line.
public struct GatewayConfiguration: Sendable {
    public var http: HTTPSettings
    /// Where SENS is and how to authenticate. `nil` in simulator mode, where keys are generated at start.
    public var sens: SENSSettings?
    /// Whether to run the SENS simulator in-process on loopback and use it as SENS.
    public var simulator: Bool
    public var cache: CacheSettings
    public var resilience: ResilienceSettings
    public var logLevel: String
    /// `text` (default) or `json` (one object per line).
    public var logFormat: String = "text"

    public struct HTTPSettings: Sendable {
        public var host: String
        public var port: Int
        /// Larger request bodies are refused with 413.
        public var maxBodyBytes: Int
        /// Connections idle (nothing read or written) for this long are closed.
        public var idleTimeoutSeconds: Int

        public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 4 << 20, idleTimeoutSeconds: Int = 30) {
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.idleTimeoutSeconds = idleTimeoutSeconds
        }
    }

    public struct SENSSettings: Sendable {
        public var credentials: NCPCredentials
        public var serviceID: String
        public var baseURL: SENSBaseURL
        /// The zone SENS's zone-less `registerTime` values are in.
        public var registerTimeOffsetSeconds: Int
        public var connectTimeoutMilliseconds: Int
        /// The longest one attempt of a SENS call may take, answer included (the request deadline may cut it).
        public var attemptTimeoutMilliseconds: Int

        public init(credentials: NCPCredentials, serviceID: String, baseURL: SENSBaseURL = .ncp,
                    registerTimeOffsetSeconds: Int = 9 * 3600, connectTimeoutMilliseconds: Int = 1_000,
                    attemptTimeoutMilliseconds: Int = 3_000) {
            self.credentials = credentials
            self.serviceID = serviceID
            self.baseURL = baseURL
            self.registerTimeOffsetSeconds = registerTimeOffsetSeconds
            self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
            self.attemptTimeoutMilliseconds = attemptTimeoutMilliseconds
        }
    }

    public init(http: HTTPSettings = HTTPSettings(), sens: SENSSettings?, simulator: Bool = false,
                cache: CacheSettings = CacheSettings(), resilience: ResilienceSettings = ResilienceSettings(),
                logLevel: String = "info") {
        self.http = http
        self.sens = sens
        self.simulator = simulator
        self.cache = cache
        self.resilience = resilience
        self.logLevel = logLevel
    }

    /// Reads every setting in `GatewaySettings.all` (`sens.accessKey` is `SENS_ACCESS_KEY` and
    /// `--sens-access-key`, and so on). Any value that cannot be read stops here, naming it.
    init(settings: SettingsReader) throws(ConfigurationError) {
        let http = HTTPSettings(host: try settings.string("http.host"), port: try settings.integer("http.port"),
                                maxBodyBytes: try settings.integer("http.maxBodyBytes"),
                                idleTimeoutSeconds: try settings.integer("http.idleTimeoutSeconds"))
        let logLevel = try settings.string("log.level")
        let logFormat = try settings.string("log.format")
        let simulator = try settings.boolean("simulator")
        let cache = try Self.cacheSettings(settings)
        let resilience = try Self.resilienceSettings(settings)
        // The SENS settings are read in simulator mode too, so that a malformed one is refused there as well.
        let sens = try Self.sensSettings(settings, required: !simulator)
        self.init(http: http, sens: simulator ? nil : sens, simulator: simulator, cache: cache, resilience: resilience,
                  logLevel: logLevel)
        self.logFormat = logFormat
    }

    private static func resilienceSettings(_ settings: SettingsReader) throws(ConfigurationError) -> ResilienceSettings {
        ResilienceSettings(
            deadlineMilliseconds: try settings.integer("sens.deadlineMilliseconds"),
            maxAttempts: try settings.integer("sens.maxAttempts"),
            breakerMinimumCalls: try settings.integer("sens.breakerMinimumCalls"),
            breakerFailurePercent: try settings.integer("sens.breakerFailurePercent"),
            breakerWindow: try settings.integer("sens.breakerWindow"),
            breakerCooldownMilliseconds: try settings.integer("sens.breakerCooldownMilliseconds"),
            maxConcurrentCalls: try settings.integer("sens.maxConcurrentCalls"),
            maxQueuedCalls: try settings.integer("sens.maxQueuedCalls")
        )
    }

    private static func cacheSettings(_ settings: SettingsReader) throws(ConfigurationError) -> CacheSettings {
        CacheSettings(ttlMilliseconds: Int64(try settings.integer("cache.ttlSeconds")) * 1000,
                      staleIfErrorMilliseconds: Int64(try settings.integer("cache.staleIfErrorSeconds")) * 1000,
                      maxEntries: try settings.integer("cache.maxEntries"),
                      maxListEntries: try settings.integer("cache.maxListEntries"))
    }

    /// The SENS settings; nil in simulator mode when the keys are not given (the simulator makes its own).
    private static func sensSettings(_ settings: SettingsReader, required: Bool) throws(ConfigurationError) -> SENSSettings? {
        let urlText = try settings.string("sens.baseUrl")
        guard let baseURL = SENSBaseURL(urlText) else {
            throw SettingsReader.refusal(GatewaySettings.byKey["sens.baseUrl"]!, urlText, expected: "an http(s) URL without query, like https://sens.apigw.ntruss.com")
        }
        let offsetText = try settings.string("sens.registerTimeOffset")
        guard let offset = parseOffset(offsetText) else {
            throw SettingsReader.refusal(GatewaySettings.byKey["sens.registerTimeOffset"]!, offsetText, expected: "an offset like +09:00")
        }
        let connect = try settings.integer("sens.connectTimeoutMilliseconds")
        let attempt = try settings.integer("sens.attemptTimeoutMilliseconds")
        // The simulator makes its own keys and service: whatever is set for NCP is not needed then.
        guard required else { return nil }
        let accessKey = settings.raw("sens.accessKey")
        let serviceID = settings.raw("sens.serviceId")
        let secretKey = try secret(settings)
        guard let accessKey, !accessKey.isEmpty else { throw missing("sens.accessKey") }
        guard !accessKey.contains(where: \.isWhitespace) else {
            throw SettingsReader.refusal(GatewaySettings.byKey["sens.accessKey"]!, accessKey, expected: "a key without whitespace")
        }
        guard let serviceID, !serviceID.isEmpty else { throw missing("sens.serviceId") }
        guard serviceID.hasPrefix("ncp:sms:"), serviceID.split(separator: ":").count == 5,
            !serviceID.contains(where: { $0.isWhitespace || "/?#%".contains($0) })
        else {
            throw SettingsReader.refusal(GatewaySettings.byKey["sens.serviceId"]!, serviceID, expected: "an id like ncp:sms:kr:123456789012:name")
        }
        return SENSSettings(
            credentials: NCPCredentials(accessKey: accessKey, secretKey: NCPSecretKey(secretKey)),
            serviceID: serviceID, baseURL: baseURL, registerTimeOffsetSeconds: offset,
            connectTimeoutMilliseconds: connect, attemptTimeoutMilliseconds: attempt
        )
    }

    private static func missing(_ key: String) -> ConfigurationError {
        ConfigurationError("\(GatewaySettings.byKey[key]!.described) is required; or run with --simulator")
    }

    private static func missingSecret() -> ConfigurationError {
        ConfigurationError("sens.secretKey (SENS_SECRET_KEY, --sens-secret-key) or sens.secretKeyFile (SENS_SECRET_KEY_FILE, --sens-secret-key-file) is required; or run with --simulator")
    }

    /// The secret key from `sens.secretKey` or from the file named by `sens.secretKeyFile` (trailing newline
    /// trimmed), never both.
    private static func secret(_ settings: SettingsReader) throws(ConfigurationError) -> String {
        switch (settings.raw("sens.secretKey"), settings.raw("sens.secretKeyFile")) {
        case (.some, .some):
            throw ConfigurationError("set sens.secretKey or sens.secretKeyFile, not both")
        case (.some(let value), nil):
            guard !value.isEmpty else { throw missingSecret() }
            return value
        case (nil, .some(let path)):
            guard let data = try? Data(contentsOf: URL(filePath: path)) else {
                throw ConfigurationError("sens.secretKeyFile (SENS_SECRET_KEY_FILE, --sens-secret-key-file) \"\(path)\" cannot be read")
            }
            let value = String(decoding: data, as: UTF8.self).trimmingTrailingNewlines()
            guard !value.isEmpty else { throw ConfigurationError("sens.secretKeyFile (SENS_SECRET_KEY_FILE, --sens-secret-key-file) \"\(path)\" is empty") }
            return value
        case (nil, nil):
            throw missingSecret()
        }
    }

    private static func parseOffset(_ text: String) -> Int? {
        RFC3339.parse("2000-01-01T00:00:00" + text).map { Int((946_684_800_000 - $0) / 1000) }
    }
}

/// Scheme, host, optional port and optional path prefix of the SENS API, without a trailing slash.
public struct SENSBaseURL: Sendable, Equatable {
    public let text: String

    public static let ncp = SENSBaseURL("https://sens.apigw.ntruss.com")!

    public init?(_ text: String) {
        var text = text
        while text.hasSuffix("/") { text.removeLast() }
        guard let schemeEnd = text.firstRange(of: "://"), ["http", "https"].contains(text[..<schemeEnd.lowerBound].lowercased()),
            let host = text[schemeEnd.upperBound...].split(separator: "/", omittingEmptySubsequences: false).first,
            !host.isEmpty, !text.contains("?"), !text.contains("#"), !text.contains(where: \.isWhitespace)
        else { return nil }
        self.text = text
    }

    /// The path prefix (`""` for the NCP host), which is signed along with the resource path.
    public var pathPrefix: String {
        let afterScheme = text[text.firstRange(of: "://")!.upperBound...]
        guard let slash = afterScheme.firstIndex(of: "/") else { return "" }
        return String(afterScheme[slash...])
    }
}

/// How the gateway defends itself and its callers against a slow or failing SENS.
public struct ResilienceSettings: Sendable, Equatable {
    /// Every incoming request is answered within this time; SENS work past it ends in 504.
    public var deadlineMilliseconds: Int
    public var maxAttempts: Int
    /// The breaker opens when `breakerFailurePercent` of the last `breakerWindow` SENS calls failed, once at
    /// least `breakerMinimumCalls` are in the window.
    public var breakerMinimumCalls: Int
    public var breakerFailurePercent: Int
    public var breakerWindow: Int
    public var breakerCooldownMilliseconds: Int
    public var maxConcurrentCalls: Int
    public var maxQueuedCalls: Int

    public init(deadlineMilliseconds: Int = 10_000, maxAttempts: Int = 3, breakerMinimumCalls: Int = 20,
                breakerFailurePercent: Int = 50, breakerWindow: Int = 100, breakerCooldownMilliseconds: Int = 5_000,
                maxConcurrentCalls: Int = 64, maxQueuedCalls: Int = 128) {
        self.deadlineMilliseconds = deadlineMilliseconds
        self.maxAttempts = maxAttempts
        self.breakerMinimumCalls = breakerMinimumCalls
        self.breakerFailurePercent = breakerFailurePercent
        self.breakerWindow = max(breakerWindow, breakerMinimumCalls)
        self.breakerCooldownMilliseconds = breakerCooldownMilliseconds
        self.maxConcurrentCalls = maxConcurrentCalls
        self.maxQueuedCalls = maxQueuedCalls
    }
}

public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var text = self
        while let last = text.last, last.isNewline || last == " " { text.removeLast() }
        return text
    }
}
