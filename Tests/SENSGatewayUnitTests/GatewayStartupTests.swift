import Foundation
import Logging
import OptOuts
import SENSClient
import SENSCore
import SENSGateway
import Testing

@Suite("Gateway start-up configuration")
struct GatewayStartupTests {
    let complete = [
        "SENS_ACCESS_KEY": "AK", "SENS_SECRET_KEY": "SK", "SENS_SERVICE_ID": "ncp:sms:kr:123456789012:sens",
    ]

    @Test func readsEnvironmentAndFlags() throws {
        let configuration = try GatewayStartup.configuration(
            arguments: ["sens-gateway", "--http-port", "9999", "--sens-base-url", "http://127.0.0.1:1234/prefix/"],
            environment: complete.merging([
                "HTTP_PORT": "1", "LOG_LEVEL": "debug", "SENS_REGISTER_TIME_OFFSET": "-05:30",
            ]) { $1 }
        ).get()
        #expect(configuration.http.port == 9999)
        #expect(configuration.http.host == "127.0.0.1")
        #expect(configuration.log.level == .debug)
        let sens = try #require(configuration.services.first?.sens)
        #expect(sens.credentials.accessKey == "AK")
        #expect(sens.baseURL.text == "http://127.0.0.1:1234/prefix")
        #expect(sens.baseURL.pathPrefix == "/prefix")
        #expect(sens.registerTimeOffsetSeconds == -(5 * 3600 + 1800))
        #expect(sens.serviceID == "ncp:sms:kr:123456789012:sens")
    }

    @Test func readsTheSecretFromAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sens-secret-\(UUID().uuidString)")
            .path
        try "file-secret\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var environment = complete
        environment["SENS_SECRET_KEY"] = nil
        environment["SENS_SECRET_KEY_FILE"] = path
        let sens = try #require(
            try GatewayStartup.configuration(arguments: ["sens-gateway"], environment: environment).get().services
                .first?.sens
        )
        let expected = NCPSigner(credentials: NCPCredentials(accessKey: "AK", secretKey: NCPSecretKey("file-secret")))
        #expect(
            NCPSigner(credentials: sens.credentials).signature(method: "GET", pathAndQuery: "/", timestamp: "1")
                == expected.signature(method: "GET", pathAndQuery: "/", timestamp: "1")
        )
    }

    @Test func simulatorModeNeedsNoKeys() throws {
        let configuration = try GatewayStartup.configuration(
            arguments: ["sens-gateway", "--simulator"],
            environment: [:]
        ).get()
        #expect(configuration.isSimulator)
        #expect(configuration.services.isEmpty)
    }

    /// The egress proxy, read as curl reads it: https_proxy (either case) for an https SENS, http_proxy (lower case
    /// only) for an http one, no_proxy exempting SENS's host, SENS_PROXY_URL over all; masked for logs.
    /// The one line that stops start-up with `environment`; nil, and an issue naming `what`, when it starts.
    func refusal(_ environment: [String: String], of what: String) -> GatewayStartup.StartupFailure? {
        guard
            case .failure(let failure) = GatewayStartup.configuration(
                arguments: ["sens-gateway"],
                environment: environment
            )
        else {
            Issue.record("\(what) was accepted")
            return nil
        }
        return failure
    }

    /// Traces are off unless an OTLP endpoint is set; the OTEL_* values are read as OpenTelemetry defines them,
    /// and one the exporter would ignore or stop on stops start-up instead, naming it.
    @Test func readsTheOpenTelemetryEnvironment() throws {
        func read(_ changes: [String: String]) -> Result<GatewayConfiguration, GatewayStartup.StartupFailure> {
            GatewayStartup.configuration(arguments: ["sens-gateway"], environment: complete.merging(changes) { $1 })
        }
        #expect(try read([:]).get().tracing == nil, "off unless configured")
        #expect(try read(["OTEL_TRACES_SAMPLER": "always_on"]).get().tracing == nil)
        let on = try #require(
            try read([
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/",
                "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": "0.01", "OTEL_EXPORTER_OTLP_HEADERS": "api-key=s%20cret, team=gw",
                "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod", "OTEL_PROPAGATORS": "tracecontext,baggage",
            ]).get().tracing
        )
        #expect(on.endpoint == "http://collector:4318/v1/traces")
        #expect(on.sampler == "parentbased_traceidratio" && on.ratio == 0.01)
        #expect(on.headers.map { $0.value } == ["s cret", "gw"])
        #expect(on.resourceAttributes == ["deployment.environment": "prod"])
        #expect(on.serviceName == "sens-gateway" && on.baggageNamed && on.propagates)
        let noContext = try read(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_PROPAGATORS": "none"]).get()
        #expect(noContext.tracing?.propagates == false)
        let bearer = try read([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_HEADERS": "Authorization = Bearer abc ",
        ]).get()
        #expect(bearer.tracing?.headers.map { "\($0.name)=\($0.value)" } == ["Authorization=Bearer abc"])
        let direct = try read([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b/otlp/traces",
        ]).get().tracing
        #expect(direct?.endpoint == "https://b/otlp/traces", "the traces endpoint is used as given")
        let endpoint = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"]
        #expect(try read(endpoint.merging(["OTEL_SDK_DISABLED": "true"]) { $1 }).get().tracing == nil)
        #expect(try read(endpoint.merging(["OTEL_TRACES_EXPORTER": "none"]) { $1 }).get().tracing == nil)
        for (variable, value, says) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=x", "use OTEL_EXPORTER_OTLP_HEADERS"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", "no compression"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://user:s3cret@collector", "without a user or password"),
            ("OTEL_TRACES_SAMPLER_ARG", "2", "a ratio from 0 to 1"),
            ("OTEL_TRACES_SAMPLER", "jaeger_remote", "parentbased_always_on"),
            ("OTEL_PROPAGATORS", "tracecontext,b3", "not built in"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "an http or https URL"),
            ("OTEL_TRACES_EXPORTER", "console", "otlp, none"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key", "key=value pairs"),
            ("OTEL_BSP_SCHEDULE_DELAY", "5s", "a whole number"),
        ] {
            // Refused whether or not traces are on.
            let sampler = variable == "OTEL_TRACES_SAMPLER_ARG" ? ["OTEL_TRACES_SAMPLER": "traceidratio"] : [:]
            let changes = sampler.merging([variable: value]) { $1 }
            guard let failure = refusal(complete.merging(changes) { $1 }, of: "\(variable)=\(value)") else {
                continue
            }
            #expect(failure.line.contains(variable) && failure.line.contains(says), "\(failure.line)")
            #expect(!failure.line.contains("s3cret"), "a password in the endpoint is not echoed")
        }
        let unused = refusal(
            complete.merging(["OTEL_TRACES_SAMPLER_ARG": "0.5"]) { $1 },
            of: "a ratio for a sampler that takes none"
        )
        #expect(unused?.line.contains("takes none") == true)
        let secret = refusal(
            complete.merging(["OTEL_EXPORTER_OTLP_HEADERS": "token"]) { $1 },
            of: "a header without a value"
        )
        #expect(secret.map { !$0.line.contains("token") } == true, "the headers are a secret")
    }

    @Test func readsTheEgressProxyAsCurlDoes() throws {
        func proxy(_ changes: [String: String]) throws -> EgressProxy? {
            var environment = complete
            for (key, value) in changes { environment[key] = value }
            return try GatewayStartup.configuration(arguments: ["sens-gateway"], environment: environment).get()
                .calls.proxy
        }
        let https = try #require(try proxy(["HTTPS_PROXY": "http://corp%40user:p%3Ass@proxy.corp:3128"]))
        #expect(https.host == "proxy.corp" && https.port == 3128 && https.source == "HTTPS_PROXY")
        #expect(https.username == "corp@user" && https.password == "p:ss")
        #expect(https.masked == "http://corp@user:****@proxy.corp:3128")
        #expect(try proxy(["https_proxy": "proxy.corp:8080"])?.port == 8080)
        #expect(try proxy(["http_proxy": "http://proxy.corp:3128"]) == nil, "SENS is https")
        #expect(try proxy(["https_proxy": "http://proxy.corp:3128", "no_proxy": "localhost,.ntruss.com"]) == nil)
        #expect(try proxy(["https_proxy": "http://proxy.corp:3128", "NO_PROXY": "*"]) == nil)
        #expect(
            try proxy(["https_proxy": "http://a:1", "SENS_PROXY_URL": "http://b:2", "no_proxy": "*"])?.host == "b",
            "the explicit setting wins, and no_proxy does not apply to it"
        )
        let http = ["SENS_BASE_URL": "http://sens.local:9000"]
        #expect(try proxy(http.merging(["http_proxy": "http://p:1"]) { a, _ in a })?.source == "http_proxy")
        #expect(try proxy(http.merging(["HTTP_PROXY": "http://p:1"]) { a, _ in a }) == nil, "httpoxy")
        var environment = complete
        environment["SENS_PROXY_URL"] = "socks5://user:secret@p:1080"
        let socks = refusal(environment, of: "a socks proxy")
        #expect(socks.map { $0.line.contains("only an http:// proxy") && !$0.line.contains("secret") } == true)
        environment["SENS_PROXY_URL"] = "http://user:se%ZZcret@p:3128"
        let malformed = refusal(environment, of: "a malformed escape in the proxy's password")
        #expect(
            malformed.map { $0.line.contains("malformed %-escape") && !$0.line.contains("se%ZZcret") } == true
        )
    }

    /// A boolean flag alone is `true`; followed by `true` or `false`, it takes that value, as every other flag
    /// takes the value after it.
    @Test func booleanFlagsTakeAValueAfterThemToo() throws {
        func read(_ arguments: [String]) throws -> GatewayConfiguration {
            try GatewayStartup.configuration(arguments: ["sens-gateway"] + arguments, environment: [:]).get()
        }
        #expect(try read(["--simulator", "--mirror-enabled", "false"]).mirror.enabled == false)
        #expect(try read(["--simulator", "true", "--mirror-enabled", "true"]).mirror.enabled)
        #expect(try read(["--mirror-enabled=false", "--simulator"]).isSimulator)
        #expect(try read(["--simulator", "--http-port", "9000"]).http.port == 9000)
        #expect(throws: (any Error).self) { try read(["--simulator", "yes"]) }
    }

    /// A missing or malformed value stops start-up with one line naming it.
    @Test(
        arguments: [
            (
                ["SENS_ACCESS_KEY": nil],
                "sens-gateway: configuration error: sens.accessKey (SENS_ACCESS_KEY, --sens-access-key) is required; or run with --simulator"
            ),
            (
                ["SENS_SECRET_KEY": nil],
                "sens-gateway: configuration error: sens.secretKey (SENS_SECRET_KEY, --sens-secret-key) or sens.secretKeyFile (SENS_SECRET_KEY_FILE, --sens-secret-key-file) is required; or run with --simulator"
            ),
            (
                ["SENS_SERVICE_ID": nil],
                "sens-gateway: configuration error: sens.serviceId (SENS_SERVICE_ID, --sens-service-id) or sens.services (SENS_SERVICES, --sens-services) is required; or run with --simulator"
            ),
            (
                ["SENS_SERVICE_ID": "my-service"],
                #"sens-gateway: configuration error: sens.serviceId (SENS_SERVICE_ID, --sens-service-id) is "my-service"; expected an id like ncp:sms:kr:123456789012:name"#
            ),
            (
                ["SENS_BASE_URL": "ftp://x"],
                #"sens-gateway: configuration error: sens.baseUrl (SENS_BASE_URL, --sens-base-url) is "ftp://x"; expected an http(s) URL without query, like https://sens.apigw.ntruss.com"#
            ),
            (
                ["SENS_SECRET_KEY_FILE": "/nonexistent"],
                "sens-gateway: configuration error: set sens.secretKey (SENS_SECRET_KEY, --sens-secret-key) or sens.secretKeyFile (SENS_SECRET_KEY_FILE, --sens-secret-key-file), not both"
            ),
            (
                ["HTTP_PORT": "70000"],
                #"sens-gateway: configuration error: http.port (HTTP_PORT, --http-port) is "70000"; expected a whole number from 0 to 65535"#
            ),
            (
                ["HTTP_PORT": "-1"],
                #"sens-gateway: configuration error: http.port (HTTP_PORT, --http-port) is "-1"; expected a whole number from 0 to 65535"#
            ),
            (
                ["HTTP_PORT": ""],
                #"sens-gateway: configuration error: http.port (HTTP_PORT, --http-port) is ""; expected a whole number from 0 to 65535"#
            ),
            (
                ["LOG_LEVEL": "loud"],
                #"sens-gateway: configuration error: log.level (LOG_LEVEL, --log-level) is "loud"; expected one of trace, debug, info, notice, warning, error, critical"#
            ),
            (
                ["SENS_REGISTER_TIME_OFFSET": "KST"],
                #"sens-gateway: configuration error: sens.registerTimeOffset (SENS_REGISTER_TIME_OFFSET, --sens-register-time-offset) is "KST"; expected an offset like +09:00"#
            ),
            (
                ["SENS_BREAKER_WINDOW": "0x10"],
                #"sens-gateway: configuration error: sens.breakerWindow (SENS_BREAKER_WINDOW, --sens-breaker-window) is "0x10"; expected a whole number from 1 to 10000"#
            ),
        ] as [([String: String?], String)]
    )
    func refusesToStart(changes: [String: String?], line: String) {
        var environment = complete
        for (key, value) in changes { environment[key] = value }
        let result = GatewayStartup.configuration(arguments: ["sens-gateway"], environment: environment)
        guard case .failure(let failure) = result else {
            Issue.record("started despite \(changes)")
            return
        }
        #expect(failure.line == line)
        #expect(!failure.line.contains("\n"))
        #expect(!failure.line.contains("SK"))
    }

    /// Several services: names and ids, the default, and keys of their own (environment and flags) or shared.
    @Test func readsSeveralServices() throws {
        let environment = [
            "SENS_ACCESS_KEY": "SHARED", "SENS_SECRET_KEY": "shared-secret",
            "SENS_SERVICES": "default=ncp:sms:kr:111111111111:sens,retail-web=ncp:sms:kr:222222222222:retail",
            "SENS_SERVICE_RETAIL_WEB_ACCESS_KEY": "RETAIL", "SENS_DEFAULT_SERVICE": "retail-web",
        ]
        let configuration = try GatewayStartup.configuration(
            arguments: ["sens-gateway", "--sens-service-retail-web-secret-key", "retail-secret"],
            environment: environment
        ).get()
        #expect(configuration.defaultService == "retail-web")
        let services = configuration.services
        #expect(services.map(\.name) == ["default", "retail-web"])
        #expect(services.map(\.sens.serviceID) == ["ncp:sms:kr:111111111111:sens", "ncp:sms:kr:222222222222:retail"])
        #expect(services.map(\.sens.credentials.accessKey) == ["SHARED", "RETAIL"])
        let signature = { (secret: String) in
            NCPSigner(credentials: NCPCredentials(accessKey: "K", secretKey: NCPSecretKey(secret))).signature(
                method: "GET",
                pathAndQuery: "/",
                timestamp: "1"
            )
        }
        let retailSigner = NCPSigner(
            credentials: NCPCredentials(accessKey: "K", secretKey: services[1].sens.credentials.secretKey)
        )
        #expect(retailSigner.signature(method: "GET", pathAndQuery: "/", timestamp: "1") == signature("retail-secret"))
    }

    @Test(
        arguments: [
            (
                ["SENS_SERVICES": "default=ncp:sms:kr:1:sens,Retail=ncp:sms:kr:2:retail"],
                #"sens.services (SENS_SERVICES, --sens-services) is "default=ncp:sms:kr:1:sens,Retail=ncp:sms:kr:2:retail"; expected NAME=ID pairs of distinct names and ids separated by commas, NAME of 1 to 32 characters a-z, 0-9 and -, ID like ncp:sms:kr:123456789012:name ("Retail=ncp:sms:kr:2:retail" is not)"#
            ),
            (
                ["SENS_SERVICES": "a=ncp:sms:kr:1:sens,a=ncp:sms:kr:2:retail"],
                #"sens.services (SENS_SERVICES, --sens-services) is "a=ncp:sms:kr:1:sens,a=ncp:sms:kr:2:retail"; expected NAME=ID pairs of distinct names and ids separated by commas, NAME of 1 to 32 characters a-z, 0-9 and -, ID like ncp:sms:kr:123456789012:name ("a=ncp:sms:kr:2:retail" is not)"#
            ),
            (
                ["SENS_SERVICES": "a=ncp:sms:kr:1:sens,b=ncp:sms:kr:1:sens"],
                #"sens.services (SENS_SERVICES, --sens-services) is "a=ncp:sms:kr:1:sens,b=ncp:sms:kr:1:sens"; expected NAME=ID pairs of distinct names and ids separated by commas, NAME of 1 to 32 characters a-z, 0-9 and -, ID like ncp:sms:kr:123456789012:name ("b=ncp:sms:kr:1:sens" is not)"#
            ),
            (
                ["SENS_SERVICES": "a=ncp:sms:kr:1:sens", "SENS_SERVICE_ID": "ncp:sms:kr:1:sens"],
                "set sens.services (SENS_SERVICES) or sens.serviceId (SENS_SERVICE_ID), not both"
            ),
            (
                ["SENS_SERVICES": "a=ncp:sms:kr:1:sens", "SENS_DEFAULT_SERVICE": "b"],
                #"sens.defaultService (SENS_DEFAULT_SERVICE, --sens-default-service) is "b"; expected one of the configured services: a"#
            ),
            (
                [
                    "SENS_SERVICES": "a=ncp:sms:kr:1:sens,b=ncp:sms:kr:2:sens", "SENS_ACCESS_KEY": nil,
                    "SENS_SERVICE_A_ACCESS_KEY": "AK",
                    "SENS_SERVICE_A_SECRET_KEY": "S",
                ],
                "service b has no access key: set sens.service.b.accessKey (SENS_SERVICE_B_ACCESS_KEY, --sens-service-b-access-key) with its secret, or the shared sens.accessKey (SENS_ACCESS_KEY, --sens-access-key)"
            ),
            (
                ["SENS_SERVICES": "a=ncp:sms:kr:1:sens", "SENS_SERVICE_A_SECRET_KEY": "S"],
                "service a has its own secret but no access key: set sens.service.a.accessKey (SENS_SERVICE_A_ACCESS_KEY, --sens-service-a-access-key)"
            ),
            (
                ["SENS_SERVICES": "a=ncp:sms:kr:1:sens", "SENS_SERVICE_A_ACCESS_KEY": "AK2"],
                "service a has its own access key but no secret: set sens.service.a.secretKey (SENS_SERVICE_A_SECRET_KEY, --sens-service-a-secret-key) or sens.service.a.secretKeyFile (SENS_SERVICE_A_SECRET_KEY_FILE, --sens-service-a-secret-key-file)"
            ),
            (
                ["SENS_SERVICES": "retail=ncp:sms:kr:1:sens", "SENS_SERVICE_RETIAL_ACCESS_KEY": "AK2"],
                "keys are set for service retial, which is not configured (sens.services: retail)"
            ),
        ] as [([String: String?], String)]
    )
    func refusesBadServices(changes: [String: String?], refusal: String) {
        var environment: [String: String] = ["SENS_ACCESS_KEY": "AK", "SENS_SECRET_KEY": "SK"]
        for (key, value) in changes { environment[key] = value }
        let result = GatewayStartup.configuration(arguments: ["sens-gateway"], environment: environment)
        guard case .failure(let failure) = result else {
            Issue.record("started despite \(changes)")
            return
        }
        #expect(failure.line == "sens-gateway: configuration error: \(refusal)")
    }

    /// The configuration page (docs/configuration.md) names every setting the gateway reads.
    @Test func theReadmeDocumentsEverySetting() throws {
        let readme = try String(
            contentsOf: URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appending(path: "docs/configuration.md"),
            encoding: .utf8
        )
        for setting in GatewaySettings.all {
            #expect(
                readme.contains("`\(setting.environmentName)`"),
                "\(setting.environmentName) is not in docs/configuration.md"
            )
        }
    }

    /// Every setting has one flag and one environment variable, and every one is read (a value of the wrong
    /// form is refused, not ignored).
    @Test func everySettingIsReadAndRefusedWhenMalformed() {
        #expect(Set(GatewaySettings.all.map(\.flag)).count == GatewaySettings.all.count)
        for setting in GatewaySettings.all where setting.form != .text && setting.form != .secret {
            var environment = complete
            environment[setting.environmentName] = "not-a-value"
            let result = GatewayStartup.configuration(arguments: ["sens-gateway"], environment: environment)
            guard case .failure(let failure) = result else {
                Issue.record("\(setting.environmentName)=not-a-value was accepted")
                continue
            }
            #expect(failure.line.contains(setting.key) && failure.line.contains("not-a-value"), "\(failure.line)")
        }
    }
}

extension GatewayConfiguration {
    /// The configured SENS services; none in simulator mode.
    var services: [Service] {
        if case .sens(let services) = upstream { return services }
        return []
    }
}
