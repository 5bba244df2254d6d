/// Every setting the gateway reads, in the order `--help` lists them. Nothing is read that is not here.
public enum GatewaySettings {
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public static let all: [Setting] = [
        Setting(
            "simulator",
            .boolean,
            default: "false",
            help: "run against an in-process SENS simulator: no NCP account, no keys"
        ),
        Setting(
            "simulator.port",
            .integer(0...65535),
            default: "8081",
            placeholder: "PORT",
            help:
                "the simulator's loopback port; seed it with POST /_simulator/unsubscribes {\"count\":1000,\"prefix\":\"0105\"} "
                + "(docs/simulator.md); 0 picks a free one"
        ),
        Setting(
            "sens.accessKey",
            .text,
            default: nil,
            placeholder: "KEY",
            help: "NCP access key (required without --simulator)"
        ),
        Setting(
            "sens.secretKey",
            .secret,
            default: nil,
            placeholder: "KEY",
            help: "NCP secret key (or sens.secretKeyFile)"
        ),
        Setting(
            "sens.secretKeyFile",
            .text,
            default: nil,
            placeholder: "PATH",
            help: "file holding the secret key, e.g. a mounted Secret"
        ),
        Setting(
            "sens.serviceId",
            .text,
            default: nil,
            placeholder: "ID",
            help: "SMS service id, like ncp:sms:kr:123456789012:name: the one service, named default"
        ),
        Setting(
            "sens.services",
            .text,
            default: nil,
            placeholder: "NAME=ID,...",
            help: "several services instead: names (a-z, 0-9, -; up to 32) and their SMS service ids"
        ),
        Setting(
            "sens.defaultService",
            .text,
            default: nil,
            placeholder: "NAME",
            help: "the service /v1/unsubscribes addresses (default: the first listed)"
        ),
        Setting("sens.baseUrl", .text, default: "https://sens.apigw.ntruss.com", placeholder: "URL", help: "SENS API"),
        Setting(
            "sens.proxyUrl",
            .secret,
            default: nil,
            placeholder: "URL",
            help: "HTTP proxy to SENS, http://[user:password@]host:port (else https_proxy/HTTPS_PROXY or http_proxy, "
                + "with no_proxy, as curl reads them)"
        ),
        Setting(
            "sens.registerTimeOffset",
            .text,
            default: "+09:00",
            placeholder: "+HH:MM",
            help: "zone of SENS's zone-less registerTime values"
        ),
        Setting(
            "sens.connectTimeoutMilliseconds",
            .integer(1...60_000),
            default: "1000",
            placeholder: "N",
            help: "connecting to SENS"
        ),
        Setting(
            "sens.attemptTimeoutMilliseconds",
            .integer(1...120_000),
            default: "3000",
            placeholder: "N",
            help: "one attempt of a SENS call, answer included"
        ),
        Setting(
            "sens.deadlineMilliseconds",
            .integer(1...600_000),
            default: "10000",
            placeholder: "N",
            help: "every request is answered within this"
        ),
        Setting("sens.maxAttempts", .integer(1...10), default: "3", placeholder: "N", help: "attempts per SENS call"),
        Setting(
            "sens.breakerFailurePercent",
            .integer(1...100),
            default: "50",
            placeholder: "N",
            help: "the circuit opens at this share of failed calls"
        ),
        Setting(
            "sens.breakerMinimumCalls",
            .integer(1...10_000),
            default: "20",
            placeholder: "N",
            help: "... once this many calls are in the window"
        ),
        Setting(
            "sens.breakerWindow",
            .integer(1...10_000),
            default: "100",
            placeholder: "N",
            help: "calls the failure share is taken over"
        ),
        Setting(
            "sens.breakerCooldownMilliseconds",
            .integer(1...600_000),
            default: "5000",
            placeholder: "N",
            help: "open time before a probe call"
        ),
        Setting(
            "sens.credentialsProbeSeconds",
            .integer(1...3_600),
            default: "30",
            placeholder: "N",
            help: "how often a service whose keys SENS refused is asked again"
        ),
        Setting(
            "sens.maxConcurrentCalls",
            .integer(1...10_000),
            default: "64",
            placeholder: "N",
            help: "bulkhead: SENS calls at once"
        ),
        Setting(
            "sens.maxQueuedCalls",
            .integer(0...100_000),
            default: "128",
            placeholder: "N",
            help: "bulkhead: SENS calls waiting"
        ),
        Setting(
            "http.host",
            .text,
            default: "127.0.0.1",
            placeholder: "HOST",
            help: "address to listen on; 0.0.0.0 in the container"
        ),
        Setting(
            "http.port",
            .integer(0...65_535),
            default: "8080",
            placeholder: "PORT",
            help: "port to listen on; 0 picks a free one"
        ),
        // 8 MiB holds the largest schema-valid write: 10,000 numbers of 64 characters, each written as the JSON
        // escapes of a surrogate pair (12 bytes).
        Setting(
            "http.maxBodyBytes",
            .integer(1_024...(64 << 20)),
            default: "8388608",
            placeholder: "N",
            help: "larger request bodies are answered 413"
        ),
        Setting(
            "http.idleTimeoutSeconds",
            .integer(1...3_600),
            default: "30",
            placeholder: "N",
            help: "connections idle this long are closed"
        ),
        Setting(
            "http.maxConnections",
            .integer(1...1_000_000),
            default: "10000",
            placeholder: "N",
            help: "open connections at most; past it the one idle the longest is closed (all busy: the new one)"
        ),
        Setting(
            "http.drainSeconds",
            .integer(1...3_600),
            default: "25",
            placeholder: "N",
            help: "on SIGTERM, answers in flight get this long to finish (keep it inside the pod's grace period)"
        ),
        Setting(
            "cache.ttlSeconds",
            .integer(0...86_400),
            default: "60",
            placeholder: "N",
            help: "how long reads are answered from the cache; 0 turns the cache off"
        ),
        Setting(
            "cache.staleIfErrorSeconds",
            .integer(0...86_400),
            default: "300",
            placeholder: "N",
            help: "how old a cached answer may be and still be served when SENS fails"
        ),
        Setting(
            "cache.maxEntries",
            .integer(1...10_000_000),
            default: "100000",
            placeholder: "N",
            help: "cached check answers, least recently used evicted"
        ),
        Setting(
            "cache.maxListEntries",
            .integer(1...1_000_000),
            default: "1000",
            placeholder: "N",
            help: "cached list pages"
        ),
        Setting(
            "mirror.enabled",
            .boolean,
            default: "true",
            help: "keep a synced mirror of each opt-out list (filter, change feed)"
        ),
        Setting(
            "mirror.path",
            .text,
            default: nil,
            placeholder: "PATH",
            help:
                "the mirror's SQLite file (default ./sens-mirror.sqlite; in memory with --simulator); :memory: keeps it in memory"
        ),
        Setting(
            "mirror.databaseUrl",
            .secret,
            default: nil,
            placeholder: "URL",
            help:
                "postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=disable|prefer|require: replicas share the mirror there"
        ),
        Setting(
            "mirror.databaseUrlFile",
            .text,
            default: nil,
            placeholder: "PATH",
            help: "file holding the database URL, e.g. a mounted Secret"
        ),
        Setting(
            "mirror.databasePoolSize",
            .integer(1...100),
            default: "5",
            placeholder: "N",
            help: "database connections at most (one more holds the sync lead and listens)"
        ),
        Setting(
            "mirror.databaseTimeoutSeconds",
            .integer(1...300),
            default: "5",
            placeholder: "N",
            help: "connecting to the database, and each statement"
        ),
        Setting(
            "mirror.syncIntervalSeconds",
            .integer(1...86_400),
            default: "30",
            placeholder: "N",
            help: "time between incremental syncs"
        ),
        Setting(
            "mirror.syncOverlapSeconds",
            .integer(0...86_400),
            default: "300",
            placeholder: "N",
            help: "an incremental sync starts this long before the last whole sync started"
        ),
        Setting(
            "mirror.verifyIntervalSeconds",
            .integer(1...86_400),
            default: "60",
            placeholder: "N",
            help: "time between verification passes, which find any difference with SENS in any time range"
        ),
        Setting(
            "mirror.syncConcurrency",
            .integer(1...64),
            default: "8",
            placeholder: "N",
            help: "SENS calls a service's syncs make at once (halved while SENS throttles)"
        ),
        Setting(
            "mirror.changeRetentionDays",
            .integer(0...36_500),
            default: "90",
            placeholder: "N",
            help: "days a change stays in the change feed (0: for ever); older ones are pruned"
        ),
        Setting(
            "mirror.reconcileIntervalSeconds",
            .integer(60...2_592_000),
            default: "86400",
            placeholder: "N",
            help: "time between full passes that find removals made outside the gateway"
        ),
        Setting(
            "mirror.maxStalenessSeconds",
            .integer(2...86_400),
            default: "300",
            placeholder: "N",
            help: "the mirror answers only while its last successful sync and verification started less than this ago"
        ),
        Setting(
            "filter.maxBodyBytes",
            .integer(1_024...(1 << 30)),
            default: "67108864",
            placeholder: "N",
            help: "larger filter bodies are answered 413"
        ),
        Setting(
            "log.level",
            .choice(logLevels),
            default: "info",
            placeholder: "LEVEL",
            help: "the lowest level logged"
        ),
        Setting(
            "log.format",
            .choice(["text", "json"]),
            default: "text",
            placeholder: "FORMAT",
            help: "text, or json for one object per line"
        ),
        // OpenTelemetry traces: the standard OTEL_* variables (the keys are spelled so that they map to them).
        Setting(
            "otel.exporterOtlpEndpoint",
            .text,
            default: nil,
            placeholder: "URL",
            help: "the OTLP/HTTP collector (traces go to URL/v1/traces); traces are off unless this or the next is set"
        ),
        Setting(
            "otel.exporterOtlpTracesEndpoint",
            .text,
            default: nil,
            placeholder: "URL",
            help: "the OTLP/HTTP traces URL itself, used as given"
        ),
        Setting(
            "otel.exporterOtlpProtocol",
            .choice(["http/protobuf"]),
            default: "http/protobuf",
            placeholder: "PROTOCOL",
            help: "http/protobuf (gRPC is not built in; the exporter's http/json writes ids collectors refuse)"
        ),
        Setting(
            "otel.exporterOtlpHeaders",
            .secret,
            default: nil,
            placeholder: "K=V,…",
            help: "headers of every export (an API key, say), as key=value pairs separated by commas"
        ),
        Setting(
            "otel.exporterOtlpTimeout",
            .integer(1...600_000),
            default: "10000",
            placeholder: "MS",
            help: "milliseconds an export may take"
        ),
        Setting(
            "otel.serviceName",
            .text,
            default: "sens-gateway",
            placeholder: "NAME",
            help: "service.name of the traces"
        ),
        Setting(
            "otel.resourceAttributes",
            .text,
            default: nil,
            placeholder: "K=V,…",
            help: "more resource attributes (k8s.pod.name=…, deployment.environment=…)"
        ),
        Setting(
            "otel.tracesSampler",
            .choice([
                "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio", "always_on",
                "always_off", "traceidratio",
            ]),
            default: "parentbased_always_on",
            placeholder: "SAMPLER",
            help: "which traces are recorded (a caller's sampled traceparent is followed with parentbased_…)"
        ),
        Setting(
            "otel.tracesSamplerArg",
            .text,
            default: nil,
            placeholder: "RATIO",
            help: "the ratio of the traceidratio samplers, from 0 to 1 (1 when unset)"
        ),
        Setting(
            "otel.propagators",
            .text,
            default: "tracecontext",
            placeholder: "LIST",
            help:
                "tracecontext (W3C traceparent, read from callers and sent to SENS); baggage is accepted and not carried"
        ),
        Setting(
            "otel.bspScheduleDelay",
            .integer(1...600_000),
            default: "5000",
            placeholder: "MS",
            help: "milliseconds between two exports of finished spans"
        ),
        Setting(
            "otel.bspExportTimeout",
            .integer(1...600_000),
            default: "30000",
            placeholder: "MS",
            help: "milliseconds a batch's export may take (also the flush at shutdown)"
        ),
        Setting(
            "otel.bspMaxQueueSize",
            .integer(1...1_000_000),
            default: "2048",
            placeholder: "N",
            help: "finished spans kept for export at most; more are dropped"
        ),
        Setting(
            "otel.bspMaxExportBatchSize",
            .integer(1...1_000_000),
            default: "512",
            placeholder: "N",
            help: "spans an export sends at most"
        ),
        Setting(
            "otel.sdkDisabled",
            .boolean,
            default: "false",
            help: "true turns traces off whatever else is set"
        ),
        Setting(
            "otel.tracesExporter",
            .choice(["otlp", "none"]),
            default: "otlp",
            placeholder: "EXPORTER",
            help: "otlp, or none to turn traces off"
        ),
    ]

    /// A setting's default from the table above: the one place defaults are spelled.
    public static func defaultText(_ key: String) -> String {
        guard let value = byKey[key]?.defaultValue else {
            preconditionFailure("\(key) has no default in the settings table")
        }
        return value
    }

    public static func defaultInteger(_ key: String) -> Int {
        guard let value = Int(defaultText(key)) else { preconditionFailure("\(key)'s default is not a whole number") }
        return value
    }

    static let byFlag: [String: Setting] = Dictionary(uniqueKeysWithValues: all.map { ($0.flag, $0) })
    static let byKey: [String: Setting] = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })

    /// One service's own keys, for services in other NCP accounts: `sens.service.NAME.accessKey`
    /// (`SENS_SERVICE_NAME_ACCESS_KEY`, `--sens-service-NAME-access-key`, the name upper-cased with `-` as `_`
    /// in the environment), `…secretKey` and `…secretKeyFile`.
    static func serviceSettings(_ name: String) -> (accessKey: Setting, secretKey: Setting, secretKeyFile: Setting) {
        (
            Setting(
                "sens.service.\(name).accessKey",
                .text,
                default: nil,
                placeholder: "KEY",
                help: "the service's own NCP access key"
            ),
            Setting(
                "sens.service.\(name).secretKey",
                .secret,
                default: nil,
                placeholder: "KEY",
                help: "the service's own NCP secret key"
            ),
            Setting(
                "sens.service.\(name).secretKeyFile",
                .text,
                default: nil,
                placeholder: "PATH",
                help: "file holding the service's own secret key"
            )
        )
    }

    /// The per-service settings as `--help` and the README show them, with NAME for the service name.
    static let serviceTemplates: [Setting] = {
        let settings = serviceSettings("NAME")
        return [settings.accessKey, settings.secretKey, settings.secretKeyFile]
    }()

    /// The per-service setting a flag names (`--sens-service-retail-access-key`), if it names one.
    static func serviceSetting(flag: String) -> Setting? {
        let prefix = "--sens-service-"
        guard flag.hasPrefix(prefix) else { return nil }
        for (suffix, pick) in [("-secret-key-file", 2), ("-secret-key", 1), ("-access-key", 0)]
        where flag.hasSuffix(suffix) {
            let name = String(flag.dropFirst(prefix.count).dropLast(suffix.count))
            guard GatewayConfiguration.isServiceName(name) else { return nil }
            let settings = serviceSettings(name)
            return [settings.accessKey, settings.secretKey, settings.secretKeyFile][pick]
        }
        return nil
    }

    /// `--help`: every setting with its flag, environment variable, form and default.
    public static var usage: String {
        var lines = [
            "Usage: sens-gateway [options]",
            "Each option can also be set as the environment variable in brackets; a flag wins over the environment.",
            "A value that is malformed or out of range, or an unknown option, stops start-up (exit status 2).",
            "",
        ]
        for setting in all + serviceTemplates {
            let left =
                "  " + setting.flag
                + (setting.form == .boolean ? "" : " " + (setting.placeholder.isEmpty ? "VALUE" : setting.placeholder))
            var details: [String] = []
            switch setting.form {
            case .integer(let range): details.append("\(range.lowerBound)–\(range.upperBound)")
            case .choice(let words): details.append(words.joined(separator: ", "))
            default: break
            }
            if let value = setting.defaultValue { details.append("default \(value)") }
            let help = setting.help + (details.isEmpty ? "" : " (" + details.joined(separator: "; ") + ")")
            lines.append(left.padding(to: 44) + help + " [\(setting.environmentName)]")
        }
        lines.append("  --help                                    print this and exit")
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
