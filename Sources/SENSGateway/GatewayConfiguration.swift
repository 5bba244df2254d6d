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

        public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20, idleTimeoutSeconds: Int = 30) {
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

    /// Reads the configuration keys listed in the README (`sens.accessKey` is `SENS_ACCESS_KEY` and
    /// `--sens-access-key`, and so on).
    public init(reader: ConfigReader) throws(ConfigurationError) {
        let port = try Self.bounded(reader, "http.port", 8080, 0...65_535)
        let maxBodyBytes = try Self.bounded(reader, "http.maxBodyBytes", 1 << 20, 1_024...(64 << 20))
        let idle = try Self.bounded(reader, "http.idleTimeoutSeconds", 30, 1...3_600)
        let http = HTTPSettings(host: reader.string(forKey: "http.host", default: "127.0.0.1"), port: port,
                                maxBodyBytes: maxBodyBytes, idleTimeoutSeconds: idle)
        let logLevel = reader.string(forKey: "log.level", default: "info")
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw ConfigurationError("log.level must be one of trace, debug, info, notice, warning, error, critical")
        }
        let logFormat = reader.string(forKey: "log.format", default: "text")
        guard ["text", "json"].contains(logFormat) else { throw ConfigurationError("log.format must be text or json") }
        let simulator = reader.bool(forKey: "simulator", default: false)
        self.init(http: http, sens: simulator ? nil : try Self.sensSettings(reader), simulator: simulator,
                  cache: try Self.cacheSettings(reader), resilience: try Self.resilienceSettings(reader), logLevel: logLevel)
        self.logFormat = logFormat
    }

    /// An integer setting, or its default; outside `range`, start-up stops naming the key, the range and the value.
    private static func bounded(_ reader: ConfigReader, _ key: String, _ defaultValue: Int, _ range: ClosedRange<Int>,
                                hint: String = "") throws(ConfigurationError) -> Int {
        let value = reader.int(forKey: ConfigKey(key), default: defaultValue)
        guard range.contains(value) else {
            throw ConfigurationError("\(key) must be \(range.lowerBound)–\(range.upperBound)\(hint), not \(value)")
        }
        return value
    }

    private static func resilienceSettings(_ reader: ConfigReader) throws(ConfigurationError) -> ResilienceSettings {
        return ResilienceSettings(
            deadlineMilliseconds: try bounded(reader, "sens.deadlineMilliseconds", 10_000, 1...600_000),
            maxAttempts: try bounded(reader, "sens.maxAttempts", 3, 1...10),
            breakerMinimumCalls: try bounded(reader, "sens.breakerMinimumCalls", 20, 1...10_000),
            breakerFailurePercent: try bounded(reader, "sens.breakerFailurePercent", 50, 1...100),
            breakerWindow: try bounded(reader, "sens.breakerWindow", 100, 1...10_000),
            breakerCooldownMilliseconds: try bounded(reader, "sens.breakerCooldownMilliseconds", 5_000, 1...600_000),
            maxConcurrentCalls: try bounded(reader, "sens.maxConcurrentCalls", 64, 1...10_000),
            maxQueuedCalls: try bounded(reader, "sens.maxQueuedCalls", 128, 0...100_000)
        )
    }

    private static func cacheSettings(_ reader: ConfigReader) throws(ConfigurationError) -> CacheSettings {
        let ttl = try bounded(reader, "cache.ttlSeconds", 60, 0...86_400, hint: " (0 turns the cache off)")
        let stale = try bounded(reader, "cache.staleIfErrorSeconds", 300, 0...86_400)
        let entries = try bounded(reader, "cache.maxEntries", 100_000, 1...10_000_000)
        let listEntries = try bounded(reader, "cache.maxListEntries", 1_000, 1...1_000_000)
        return CacheSettings(ttlMilliseconds: Int64(ttl) * 1000, staleIfErrorMilliseconds: Int64(stale) * 1000,
                             maxEntries: entries, maxListEntries: listEntries)
    }

    private static func sensSettings(_ reader: ConfigReader) throws(ConfigurationError) -> SENSSettings {
        let accessKey = try required(reader, "sens.accessKey", "SENS_ACCESS_KEY")
        guard !accessKey.contains(where: \.isWhitespace) else { throw ConfigurationError("sens.accessKey contains whitespace") }
        let secretKey = try secret(reader)
        let serviceID = try required(reader, "sens.serviceId", "SENS_SERVICE_ID")
        guard serviceID.hasPrefix("ncp:sms:"), serviceID.split(separator: ":").count == 5,
            !serviceID.contains(where: { $0.isWhitespace || "/?#%".contains($0) })
        else { throw ConfigurationError("sens.serviceId must look like ncp:sms:kr:123456789012:name") }
        let urlText = reader.string(forKey: "sens.baseUrl", default: SENSBaseURL.ncp.text)
        guard let baseURL = SENSBaseURL(urlText) else {
            throw ConfigurationError("sens.baseUrl must be an http(s) URL without query, like https://sens.apigw.ntruss.com")
        }
        let offsetText = reader.string(forKey: "sens.registerTimeOffset", default: "+09:00")
        guard let offset = parseOffset(offsetText) else {
            throw ConfigurationError("sens.registerTimeOffset must be an offset like +09:00")
        }
        let connect = try bounded(reader, "sens.connectTimeoutMilliseconds", 1_000, 1...60_000)
        let attempt = try bounded(reader, "sens.attemptTimeoutMilliseconds", 3_000, 1...120_000)
        return SENSSettings(
            credentials: NCPCredentials(accessKey: accessKey, secretKey: NCPSecretKey(secretKey)),
            serviceID: serviceID, baseURL: baseURL, registerTimeOffsetSeconds: offset,
            connectTimeoutMilliseconds: connect, attemptTimeoutMilliseconds: attempt
        )
    }

    private static func required(_ reader: ConfigReader, _ key: String, _ variable: String) throws(ConfigurationError) -> String {
        guard let value = reader.string(forKey: ConfigKey(key)), !value.isEmpty else {
            throw ConfigurationError("\(key) is required (environment \(variable), or --\(flag(key))); or run with --simulator")
        }
        return value
    }

    /// The secret key from `sens.secretKey` or from the file named by `sens.secretKeyFile` (trailing newline
    /// trimmed), never both.
    private static func secret(_ reader: ConfigReader) throws(ConfigurationError) -> String {
        let inline = reader.string(forKey: "sens.secretKey", isSecret: true)
        let path = reader.string(forKey: "sens.secretKeyFile")
        switch (inline, path) {
        case (.some, .some):
            throw ConfigurationError("set sens.secretKey or sens.secretKeyFile, not both")
        case (.some(let value), nil) where !value.isEmpty:
            return value
        case (nil, .some(let path)):
            guard let data = try? Data(contentsOf: URL(filePath: path)) else {
                throw ConfigurationError("sens.secretKeyFile \(path) cannot be read")
            }
            let value = String(decoding: data, as: UTF8.self).trimmingTrailingNewlines()
            guard !value.isEmpty else { throw ConfigurationError("sens.secretKeyFile \(path) is empty") }
            return value
        default:
            throw ConfigurationError("sens.secretKey or sens.secretKeyFile is required (environment SENS_SECRET_KEY or SENS_SECRET_KEY_FILE); or run with --simulator")
        }
    }

    private static func parseOffset(_ text: String) -> Int? {
        RFC3339.parse("2000-01-01T00:00:00" + text).map { Int((946_684_800_000 - $0) / 1000) }
    }

    private static func flag(_ key: String) -> String {
        key.split(separator: ".").map { part in
            part.reduce(into: "") { result, character in
                result += character.isUppercase ? "-" + character.lowercased() : String(character)
            }
        }.joined(separator: "-")
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
