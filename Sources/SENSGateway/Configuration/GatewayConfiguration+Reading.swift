import Logging
import OptOutMirror
import OptOuts
import SENSClient
import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension GatewayConfiguration {
    /// Reads every setting in `GatewaySettings` (`sens.accessKey` is `SENS_ACCESS_KEY` and `--sens-access-key`,
    /// and so on). Any value that cannot be read stops here, naming it.
    init(settings: SettingsReader) throws(ConfigurationError) {
        let host = try settings.string("http.host")
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || "/?#@".contains($0) }) else {
            throw SettingsReader.refusal(
                GatewaySettings.byKey["http.host"]!,
                host,
                expected: "an address or host name, like 127.0.0.1 or 0.0.0.0"
            )
        }
        let http = HTTPSettings(
            host: host,
            port: try settings.integer("http.port"),
            maxBodyBytes: try settings.integer("http.maxBodyBytes"),
            idleTimeoutSeconds: try settings.integer("http.idleTimeoutSeconds"),
            maxConnections: try settings.integer("http.maxConnections"),
            drainSeconds: try settings.integer("http.drainSeconds")
        )
        let log = LogSettings(
            level: Logger.Level(rawValue: try settings.string("log.level"))!,
            format: LogSettings.Format(rawValue: try settings.string("log.format"))!
        )
        let simulator = try settings.boolean("simulator")
        let cache = try Self.cacheSettings(settings)
        let resilience = try Self.resilienceSettings(settings)
        let calls = try Self.callSettings(settings)
        let names = try Self.serviceList(settings, simulator: simulator)
        if let stray = settings.serviceNamesWithOwnSettings.subtracting(names.map(\.name)).sorted().first {
            throw ConfigurationError(
                "keys are set for service \(stray), which is not configured (sens.services: \(names.map(\.name).joined(separator: ", ")))"
            )
        }
        let defaultName = settings.raw("sens.defaultService") ?? names[0].name
        guard names.contains(where: { $0.name == defaultName }) else {
            throw SettingsReader.refusal(
                GatewaySettings.byKey["sens.defaultService"]!,
                defaultName,
                expected: "one of the configured services: " + names.map(\.name).joined(separator: ", ")
            )
        }
        let upstream: Upstream
        // Read whatever the mode, so that a malformed value stops start-up either way.
        let simulatorPort = try settings.integer("simulator.port")
        if simulator {
            // The simulator makes its own keys and service ids: whatever is set for NCP is not needed then.
            let port = simulatorPort
            if port != 0, port == (try settings.integer("http.port")) {
                throw ConfigurationError(
                    "simulator.port (SIMULATOR_PORT, --simulator-port) and http.port (HTTP_PORT, --http-port) are both "
                        + "\(port): give the simulator another port, or 0 for a free one"
                )
            }
            upstream = .simulator(serviceNames: names.map(\.name), port: port)
        } else {
            upstream = .sens(
                try names.map { name, serviceID throws(ConfigurationError) in
                    let credentials = try Self.credentials(
                        settings,
                        service: name,
                        single: names.count == 1 && name == "default"
                    )
                    return Service(
                        name: name,
                        sens: calls.service(credentials: credentials, serviceID: serviceID, baseURL: calls.baseURL)
                    )
                }
            )
        }
        self.init(
            http: http,
            upstream: upstream,
            defaultService: defaultName,
            calls: calls,
            cache: cache,
            resilience: resilience,
            mirror: try Self.mirrorConfiguration(settings, simulator: simulator),
            log: log,
            tracing: try TracingConfiguration.read(settings)
        )
    }

    private static func mirrorConfiguration(
        _ settings: SettingsReader,
        simulator: Bool
    ) throws(ConfigurationError) -> MirrorConfiguration {
        let interval = try settings.integer("mirror.syncIntervalSeconds")
        let staleness = try settings.integer("mirror.maxStalenessSeconds")
        guard staleness > interval else {
            throw SettingsReader.refusal(
                GatewaySettings.byKey["mirror.maxStalenessSeconds"]!,
                String(staleness),
                expected:
                    "more than mirror.syncIntervalSeconds (\(interval)): otherwise the mirror goes stale between two syncs"
            )
        }
        var path: String? = simulator ? nil : MirrorConfiguration.defaultPath
        if let given = settings.raw("mirror.path") {
            guard !given.isEmpty else {
                throw SettingsReader.refusal(
                    GatewaySettings.byKey["mirror.path"]!,
                    given,
                    expected: "a file path, or :memory:"
                )
            }
            path = given == ":memory:" ? nil : given
        }
        let database = try databaseSettings(settings)
        if simulator, database != nil {
            // Its simulated opt-outs would enter a store that replicas of the real gateway may share.
            throw ConfigurationError(
                "--simulator keeps its mirror in memory or in a file: it does not take mirror.databaseUrl (MIRROR_DATABASE_URL) or mirror.databaseUrlFile"
            )
        }
        let verify = try settings.integer("mirror.verifyIntervalSeconds")
        let retentionDays = try settings.integer("mirror.changeRetentionDays")
        guard staleness > verify else {
            throw SettingsReader.refusal(
                GatewaySettings.byKey["mirror.maxStalenessSeconds"]!,
                String(staleness),
                expected:
                    "more than mirror.verifyIntervalSeconds (\(verify)): otherwise the mirror goes stale between two verification passes"
            )
        }
        return MirrorConfiguration(
            enabled: try settings.boolean("mirror.enabled"),
            path: path,
            database: database,
            settings: MirrorSettings(
                syncInterval: .seconds(interval),
                overlapMilliseconds: Int64(try settings.integer("mirror.syncOverlapSeconds")) * 1000,
                reconcileInterval: .seconds(try settings.integer("mirror.reconcileIntervalSeconds")),
                maxStalenessMilliseconds: Int64(staleness) * 1000,
                verifyInterval: .seconds(verify),
                syncConcurrency: try settings.integer("mirror.syncConcurrency"),
                changeRetention: retentionDays == 0 ? nil : .seconds(retentionDays * 86_400)
            ),
            filterMaxBodyBytes: try settings.integer("filter.maxBodyBytes")
        )
    }

    /// The shared store's settings, when `mirror.databaseUrl` or `mirror.databaseUrlFile` is set.
    private static func databaseSettings(
        _ settings: SettingsReader
    ) throws(ConfigurationError) -> PostgresStoreSettings? {
        let inline = GatewaySettings.byKey["mirror.databaseUrl"]!
        let file = GatewaySettings.byKey["mirror.databaseUrlFile"]!
        // Read whether or not a URL is set: a malformed value stops start-up either way.
        let poolSize = try settings.integer("mirror.databasePoolSize")
        let timeout = try settings.integer("mirror.databaseTimeoutSeconds")
        guard let url = try secret(settings, inline: inline, file: file) else { return nil }
        if settings.raw("mirror.path") != nil {
            throw ConfigurationError(
                "set \(GatewaySettings.byKey["mirror.path"]!.described) or the database URL (\(inline.described)), not both"
            )
        }
        do {
            return try PostgresStoreSettings.parse(url: url, poolSize: poolSize, timeout: .seconds(timeout))
        } catch {
            throw ConfigurationError("\(settings.raw(file.key) == nil ? inline.described : file.described): \(error)")
        }
    }

    private static func resilienceSettings(_ settings: SettingsReader) throws(ConfigurationError) -> ResilienceSettings
    {
        let minimum = try settings.integer("sens.breakerMinimumCalls")
        let window = try settings.integer("sens.breakerWindow")
        guard window >= minimum else {
            throw SettingsReader.refusal(
                GatewaySettings.byKey["sens.breakerWindow"]!,
                String(window),
                expected:
                    "at least sens.breakerMinimumCalls (\(minimum)): the window holds the calls the minimum counts"
            )
        }
        return ResilienceSettings(
            deadlineMilliseconds: try settings.integer("sens.deadlineMilliseconds"),
            maxAttempts: try settings.integer("sens.maxAttempts"),
            breakerMinimumCalls: try settings.integer("sens.breakerMinimumCalls"),
            breakerFailurePercent: try settings.integer("sens.breakerFailurePercent"),
            breakerWindow: try settings.integer("sens.breakerWindow"),
            breakerCooldownMilliseconds: try settings.integer("sens.breakerCooldownMilliseconds"),
            maxConcurrentCalls: try settings.integer("sens.maxConcurrentCalls"),
            maxQueuedCalls: try settings.integer("sens.maxQueuedCalls"),
            credentialsProbeSeconds: try settings.integer("sens.credentialsProbeSeconds")
        )
    }

    private static func cacheSettings(_ settings: SettingsReader) throws(ConfigurationError) -> CacheSettings {
        CacheSettings(
            ttlMilliseconds: Int64(try settings.integer("cache.ttlSeconds")) * 1000,
            staleIfErrorMilliseconds: Int64(try settings.integer("cache.staleIfErrorSeconds")) * 1000,
            maxEntries: try settings.integer("cache.maxEntries"),
            maxListEntries: try settings.integer("cache.maxListEntries")
        )
    }

    private static func callSettings(_ settings: SettingsReader) throws(ConfigurationError) -> SENSCallSettings {
        let urlText = try settings.string("sens.baseUrl")
        guard let baseURL = SENSBaseURL(urlText) else {
            throw SettingsReader.refusal(
                GatewaySettings.byKey["sens.baseUrl"]!,
                SENSBaseURL.maskingUserInfo(urlText),
                expected: "an http(s) URL without query, like https://sens.apigw.ntruss.com"
            )
        }
        let offsetText = try settings.string("sens.registerTimeOffset")
        guard let offset = parseOffset(offsetText) else {
            throw SettingsReader.refusal(
                GatewaySettings.byKey["sens.registerTimeOffset"]!,
                offsetText,
                expected: "an offset like +09:00"
            )
        }
        return SENSCallSettings(
            baseURL: baseURL,
            registerTimeOffsetSeconds: offset,
            connectTimeoutMilliseconds: try settings.integer("sens.connectTimeoutMilliseconds"),
            attemptTimeoutMilliseconds: try settings.integer("sens.attemptTimeoutMilliseconds"),
            proxy: try egressProxy(settings, baseURL: baseURL)
        )
    }

    /// `sens.proxyUrl`, else the variables curl reads for SENS's scheme, unless `no_proxy` exempts SENS's host
    /// (`EgressProxy`). A value that cannot be read stops start-up.
    private static func egressProxy(
        _ settings: SettingsReader,
        baseURL: SENSBaseURL
    ) throws(ConfigurationError) -> EgressProxy? {
        let environment = settings.processEnvironment
        let source: (name: String, value: String)?
        if let explicit = settings.raw("sens.proxyUrl"), !explicit.isEmpty {
            source = ("sens.proxyUrl (SENS_PROXY_URL, --sens-proxy-url)", explicit)
        } else {
            let https = baseURL.text.lowercased().hasPrefix("https:")
            // curl reads http_proxy in lower case only; https_proxy in either.
            let names = https ? ["https_proxy", "HTTPS_PROXY"] : ["http_proxy"]
            guard let name = names.first(where: { !(environment[$0] ?? "").isEmpty }) else { return nil }
            let noProxy = environment["no_proxy"] ?? environment["NO_PROXY"] ?? ""
            if EgressProxy.exempts(baseURL.host, noProxy: noProxy) { return nil }
            source = (name, environment[name]!)
        }
        guard let source else { return nil }
        switch EgressProxy.parse(source.value, source: source.name) {
        case .success(let proxy): return proxy
        case .failure(let error): throw ConfigurationError("\(error)")
        }
    }

    /// `sens.services` (`default=ncp:…,retail=ncp:…`), or `sens.serviceId` as the one service `default`; in
    /// simulator mode only the names count, and `default` when none is given.
    private static func serviceList(
        _ settings: SettingsReader,
        simulator: Bool
    ) throws(ConfigurationError) -> [(name: String, serviceID: String)] {
        let listSetting = GatewaySettings.byKey["sens.services"]!
        let idSetting = GatewaySettings.byKey["sens.serviceId"]!
        switch (settings.raw("sens.services"), settings.raw("sens.serviceId")) {
        case (.some, .some):
            throw ConfigurationError("set sens.services (SENS_SERVICES) or sens.serviceId (SENS_SERVICE_ID), not both")
        case (nil, .some(let serviceID)):
            guard simulator || isServiceID(serviceID) else {
                throw SettingsReader.refusal(idSetting, serviceID, expected: "an id like ncp:sms:kr:123456789012:name")
            }
            return [("default", serviceID)]
        case (nil, nil):
            guard simulator else {
                throw ConfigurationError(
                    "\(idSetting.described) or \(listSetting.described) is required; or run with --simulator"
                )
            }
            return [("default", "")]
        case (.some(let text), nil):
            var services: [(name: String, serviceID: String)] = []
            for entry in text.split(separator: ",", omittingEmptySubsequences: false) {
                let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0])
                let serviceID = parts.count == 2 ? String(parts[1]) : ""
                // Distinct names, and distinct ids: two names for one list would keep two caches of it.
                guard isServiceName(name), simulator || isServiceID(serviceID),
                    !services.contains(where: { $0.name == name }),
                    serviceID.isEmpty || !services.contains(where: { $0.serviceID == serviceID })
                else {
                    throw SettingsReader.refusal(
                        listSetting,
                        text,
                        expected: "NAME=ID pairs of distinct names and ids separated by commas, "
                            + "NAME of 1 to 32 characters a-z, 0-9 and -, ID like ncp:sms:kr:123456789012:name (\"\(entry)\" is not)"
                    )
                }
                services.append((name, serviceID))
            }
            return services
        }
    }

    static func isServiceName(_ name: String) -> Bool {
        (1...32).contains(name.utf8.count)
            && name.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
    }

    private static func isServiceID(_ serviceID: String) -> Bool {
        serviceID.hasPrefix("ncp:sms:") && serviceID.split(separator: ":").count == 5
            && !serviceID.contains(where: { $0.isWhitespace || "/?#%".contains($0) })
    }

    /// The service's own keys (`sens.service.NAME.accessKey` with `…secretKey` or `…secretKeyFile`), else the shared
    /// ones. Keys are a pair: a service with only half of its own pair is refused, never signed with a mix.
    private static func credentials(
        _ settings: SettingsReader,
        service: String,
        single: Bool
    ) throws(ConfigurationError) -> NCPCredentials {
        let own = GatewaySettings.serviceSettings(service)
        let ownAccessKey = settings.raw(own.accessKey.key)
        let ownSecret = try secret(settings, inline: own.secretKey, file: own.secretKeyFile)
        let accessSetting: Setting
        let accessKey: String?
        let secretKey: String?
        switch (ownAccessKey, ownSecret) {
        case (.some(let key), .some(let secret)):
            (accessSetting, accessKey, secretKey) = (own.accessKey, key, secret)
        case (nil, nil):
            accessSetting = GatewaySettings.byKey["sens.accessKey"]!
            accessKey = settings.raw("sens.accessKey")
            secretKey = try secret(
                settings,
                inline: GatewaySettings.byKey["sens.secretKey"]!,
                file: GatewaySettings.byKey["sens.secretKeyFile"]!
            )
        case (.some, nil):
            throw ConfigurationError(
                "service \(service) has its own access key but no secret: set \(own.secretKey.described) or \(own.secretKeyFile.described)"
            )
        case (nil, .some):
            throw ConfigurationError(
                "service \(service) has its own secret but no access key: set \(own.accessKey.described)"
            )
        }
        guard let accessKey, !accessKey.isEmpty else {
            if single { throw ConfigurationError("\(accessSetting.described) is required; or run with --simulator") }
            throw ConfigurationError(
                "service \(service) has no access key: set \(own.accessKey.described) with its secret, or the shared sens.accessKey (SENS_ACCESS_KEY, --sens-access-key)"
            )
        }
        guard !accessKey.contains(where: \.isWhitespace) else {
            // Shown masked, like the access key everywhere else.
            let masked = NCPCredentials(accessKey: accessKey, secretKey: NCPSecretKey("")).maskedAccessKey
            throw SettingsReader.refusal(accessSetting, masked, expected: "a key without whitespace")
        }
        guard let secretKey else {
            if single {
                throw ConfigurationError(
                    "sens.secretKey (SENS_SECRET_KEY, --sens-secret-key) or sens.secretKeyFile (SENS_SECRET_KEY_FILE, --sens-secret-key-file) is required; or run with --simulator"
                )
            }
            throw ConfigurationError(
                "service \(service) has no secret key: set the shared sens.secretKey (SENS_SECRET_KEY) or sens.secretKeyFile (SENS_SECRET_KEY_FILE)"
            )
        }
        return NCPCredentials(accessKey: accessKey, secretKey: NCPSecretKey(secretKey))
    }

    /// A secret from its inline setting or from the file its file setting names (trailing newline trimmed), never
    /// both; nil when neither is set.
    private static func secret(
        _ settings: SettingsReader,
        inline: Setting,
        file: Setting
    ) throws(ConfigurationError) -> String? {
        switch (settings.raw(inline.key), settings.raw(file.key)) {
        case (.some, .some):
            throw ConfigurationError("set \(inline.described) or \(file.described), not both")
        case (.some(let value), nil):
            guard !value.isEmpty else { throw ConfigurationError("\(inline.described) is empty") }
            return value
        case (nil, .some(let path)):
            guard let data = try? Data(contentsOf: URL(filePath: path)) else {
                throw ConfigurationError("\(file.described) \"\(path)\" cannot be read")
            }
            var value = String(decoding: data, as: UTF8.self)
            while let last = value.last, last.isNewline || last == " " { value.removeLast() }
            guard !value.isEmpty else { throw ConfigurationError("\(file.described) \"\(path)\" is empty") }
            return value
        case (nil, nil):
            return nil
        }
    }

    private static func parseOffset(_ text: String) -> Int? {
        RFC3339.parse("2000-01-01T00:00:00" + text).map { Int((946_684_800_000 - $0) / 1000) }
    }
}
