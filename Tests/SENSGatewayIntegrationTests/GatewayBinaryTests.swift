import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOHTTP1
import OptOuts
import SENSClient
import SENSCore
import SENSSimulator
import SENSTestSupport
import Testing

/// The executable as an operator meets it: settings refused with one line and exit status 2, a taken port, the
/// start-up check of the keys, and what the start-up lines show of them.
@Suite("sens-gateway executable")
struct GatewayBinaryTests {
    /// Each malformed, out-of-range or unknown setting stops start-up: exit status 2 and one line on standard
    /// error naming the setting, the value given and the form expected.
    @Test(
        arguments: [
            (
                ["--http-port", "abc"], [:],
                #"http.port (HTTP_PORT, --http-port) is "abc"; expected a whole number from 0 to 65535"#
            ),
            (
                [], ["HTTP_PORT": "abc"],
                #"http.port (HTTP_PORT, --http-port) is "abc"; expected a whole number from 0 to 65535"#
            ),
            (
                [], ["HTTP_PORT": "1e3"],
                #"http.port (HTTP_PORT, --http-port) is "1e3"; expected a whole number from 0 to 65535"#
            ),
            (
                ["--http-port=70000"], [:],
                #"http.port (HTTP_PORT, --http-port) is "70000"; expected a whole number from 0 to 65535"#
            ),
            (["--bogus", "1"], [:], "unknown option --bogus (see --help)"),
            (["--http-port"], [:], "--http-port needs a value: a whole number from 0 to 65535"),
            (["--http-port", "--log-level", "info"], [:], "--http-port needs a value: a whole number from 0 to 65535"),
            (
                [], ["CACHE_TTL_SECONDS": "off"],
                #"cache.ttlSeconds (CACHE_TTL_SECONDS, --cache-ttl-seconds) is "off"; expected a whole number from 0 to 86400"#
            ),
            (
                [], ["SENS_MAX_ATTEMPTS": " 3"],
                #"sens.maxAttempts (SENS_MAX_ATTEMPTS, --sens-max-attempts) is " 3"; expected a whole number from 1 to 10"#
            ),
            (
                ["--log-level", "verbose"], [:],
                #"log.level (LOG_LEVEL, --log-level) is "verbose"; expected one of trace, debug, info, notice, warning, error, critical"#
            ),
            (["--log-format=xml"], [:], #"log.format (LOG_FORMAT, --log-format) is "xml"; expected one of text, json"#),
            (
                ["--cache-ttl-seconds", "5", "--cache-ttl-seconds", "6"], [:],
                "--cache-ttl-seconds is given more than once"
            ),
            (
                ["--sens-services", "retail=", "--sens-service-retial-access-key", "K"], [:],
                "keys are set for service retial, which is not configured (sens.services: retail)"
            ),
            (["8080"], [:], #"unexpected argument "8080": options are --name value or --name=value (see --help)"#),
            (
                [], ["HTTP_HOST": ""],
                #"http.host (HTTP_HOST, --http-host) is ""; expected an address or host name, like 127.0.0.1 or 0.0.0.0"#
            ),
            (
                [], ["SENS_BREAKER_MINIMUM_CALLS": "50", "SENS_BREAKER_WINDOW": "20"],
                #"sens.breakerWindow (SENS_BREAKER_WINDOW, --sens-breaker-window) is "20"; expected at least sens.breakerMinimumCalls (50): the window holds the calls the minimum counts"#
            ),
        ] as [([String], [String: String], String)]
    )
    func refusesABadSetting(arguments: [String], environment: [String: String], refusal: String) async throws {
        let gateway = try GatewayProcess(["--simulator"] + arguments, environment: environment)
        #expect(try await gateway.exitStatus() == 2)
        #expect(gateway.standardError == "sens-gateway: configuration error: \(refusal)\n")
    }

    @Test func refusesAMalformedSimulatorFlagValueAndNeverEchoesASecret() async throws {
        let simulator = try GatewayProcess([], environment: ["SIMULATOR": "yes"])
        #expect(try await simulator.exitStatus() == 2)
        #expect(
            simulator.standardError
                == "sens-gateway: configuration error: simulator (SIMULATOR, --simulator) is \"yes\"; expected true or false\n"
        )
        let spaced = try GatewayProcess([
            "--sens-access-key", "AKEYVALUE WITH SPACE", "--sens-service-id", "ncp:sms:kr:1:sens",
            "--sens-secret-key", "s3cr3t-value",
        ])
        #expect(try await spaced.exitStatus() == 2)
        #expect(
            spaced.standardError
                == "sens-gateway: configuration error: sens.accessKey (SENS_ACCESS_KEY, --sens-access-key) is \"AKEY****************\"; expected a key without whitespace\n",
            "the access key is shown masked"
        )
        #expect(!spaced.standardError.contains("s3cr3t-value"))
    }

    @Test func helpListsEverySettingAndLogLevel() async throws {
        let help = try GatewayProcess(["--help"])
        #expect(try await help.exitStatus() == 0)
        for level in ["trace", "debug", "info", "notice", "warning", "error", "critical"] {
            #expect(help.standardOutput.contains(level))
        }
        for name in [
            "--http-port", "HTTP_PORT", "--sens-secret-key-file", "SENS_SECRET_KEY_FILE", "--cache-ttl-seconds",
            "--log-format",
        ] {
            #expect(help.standardOutput.contains(name), "\(name)")
        }
    }

    @Test func saysInOneLineThatThePortIsTaken() async throws {
        let first = try GatewayProcess(["--simulator", "--http-port", "0"])
        let port = try await first.listeningPort()
        let second = try GatewayProcess(["--simulator", "--http-port", String(port)])
        #expect(try await second.exitStatus() == 2)
        #expect(
            second.standardError
                == "sens-gateway: cannot listen on 127.0.0.1:\(port): the address is already in use (http.host, http.port)\n"
        )
        #expect(try await first.stop() == 0, "SIGTERM is a graceful shutdown")
    }

    /// At start-up the gateway makes one signed list call: refused keys are one error line and readiness stays
    /// down; the access key is shown masked, the secret never.
    @Test func checksTheKeysAtStartUp() async throws {
        try await Self.withSimulator { sensPort in
            let environment = [
                "SENS_ACCESS_KEY": SimulatorConfiguration.defaultAccessKey, "SENS_SECRET_KEY": "wrong-secret-xyz",
                "SENS_SERVICE_ID": SimulatorConfiguration.defaultServiceID,
                "SENS_BASE_URL": "http://127.0.0.1:\(sensPort)",
                "HTTP_PORT": "0",
            ]
            let refused = try GatewayProcess([], environment: environment)
            let port = try await refused.listeningPort()
            try await refused.waitForOutput("SENS refused the gateway's NCP keys")
            let output = refused.standardOutput
            #expect(output.components(separatedBy: "SENS refused the gateway's NCP keys").count == 2, "one line")
            #expect(output.contains("accessKey=ACCE*********"))
            #expect(!output.contains(SimulatorConfiguration.defaultAccessKey))
            #expect(!output.contains("wrong-secret-xyz"))
            try await PooledClient.with(port: port) { client in
                let ready = try await client.send(.GET, "/readyz")
                #expect(ready.status == 503)
                #expect(ready.body.contains(#""reason":"sens_credentials_rejected""#))
            }
            #expect(try await refused.stop() == 0)

            var accepted = environment
            accepted["SENS_SECRET_KEY"] = SimulatorConfiguration.defaultSecretKey
            let good = try GatewayProcess([], environment: accepted)
            let goodPort = try await good.listeningPort()
            try await good.waitForOutput("SENS accepted the gateway's keys")
            let readiness = try await PooledClient.with(port: goodPort) { client in
                try await client.send(.GET, "/readyz").status
            }
            #expect(readiness == 200)
            #expect(try await good.stop() == 0)
        }
    }

    /// A SENS simulator with its default keys and service on a loopback port, for the gateway processes `body`
    /// starts against it.
    static func withSimulator(_ body: @escaping @Sendable (_ port: Int) async throws -> Void) async throws {
        let app = SENSSimulator(configuration: SimulatorConfiguration()).buildApplication(
            server: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Logger(label: "simulator")
        )
        try await app.test(.live) { client in try await body(try #require(client.port)) }
    }

    /// A CONNECT proxy run as a process (`connect-proxy.py`): its port, and the process whose output lists the
    /// tunnels it was asked for.
    /// A gateway process started with `environment`, and its answer to a register of `body`.
    static func register(
        _ body: String,
        environment: [String: String]
    ) async throws -> (process: GatewayProcess, answer: HTTPAnswer) {
        let process = try GatewayProcess([], environment: environment)
        let port = try await process.listeningPort()
        let answer = try await PooledClient.with(port: port) { client in
            try await client.send(.POST, "/v1/unsubscribes", json: body)
        }
        return (process, answer)
    }

    static func connectProxy(_ arguments: [String]) async throws -> (process: GatewayProcess, port: Int) {
        let script = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appending(path: "SENSTestSupport/Fixtures/connect-proxy.py")
        // The interpreter itself, not a wrapper script around it (which a stop's SIGTERM would not reach past).
        let (_, interpreter) = try await runProcess(
            "/usr/bin/env",
            [
                "PATH=" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), "python3", "-c",
                "import sys; print(sys.executable)",
            ]
        )
        let proxy = try GatewayProcess(
            [script.path] + arguments,
            executable: URL(filePath: interpreter.trimmingCharacters(in: .whitespacesAndNewlines))
        )
        try await proxy.waitForOutput("\n")
        return (proxy, try #require(Int(proxy.standardOutput.prefix { $0 != "\n" })))
    }

    /// SENS reached through an egress proxy read from `http_proxy` as curl reads it: the tunnel carries the proxy
    /// authorization, the logs show the proxy masked; a proxy that refuses is a 503 whose log line names it; and
    /// `no_proxy` sends the calls past it.
    @Test func callsSENSThroughAnEgressProxy() async throws {
        try await Self.withSimulator { sensPort in
            let base = [
                "SENS_ACCESS_KEY": SimulatorConfiguration.defaultAccessKey,
                "SENS_SECRET_KEY": SimulatorConfiguration.defaultSecretKey,
                "SENS_SERVICE_ID": SimulatorConfiguration.defaultServiceID,
                "SENS_BASE_URL": "http://127.0.0.1:\(sensPort)", "HTTP_PORT": "0", "MIRROR_ENABLED": "false",
                "SENS_MAX_ATTEMPTS": "1",
            ]
            let register = #"{"phoneNumbers":["010-1234-5678"]}"#

            let (tunnel, tunnelPort) = try await Self.connectProxy(["tunnel", "gw:s3cr3t-pw"])
            var environment = base
            environment["http_proxy"] = "http://gw:s3cr3t-pw@127.0.0.1:\(tunnelPort)"
            let (proxied, registered) = try await Self.register(register, environment: environment)
            #expect(registered.status == 200)
            #expect(tunnel.standardOutput.contains("CONNECT 127.0.0.1:\(sensPort) auth=gw:s3cr3t-pw"))
            #expect(proxied.standardOutput.contains("proxy=http://gw:****@127.0.0.1:\(tunnelPort)"))
            #expect(proxied.standardOutput.contains("from=http_proxy"))
            #expect(!proxied.standardOutput.contains("s3cr3t-pw"))
            #expect(try await proxied.stop() == 0)

            // Wrong authorization (407) and a refusal (403): 503, and the log line names the proxy.
            environment["http_proxy"] = "http://gw:wrong@127.0.0.1:\(tunnelPort)"
            let (unauthorized, unauthorizedAnswer) = try await Self.register(register, environment: environment)
            #expect(unauthorizedAnswer.status == 503)
            #expect(unauthorized.standardOutput.contains("proxy=http://gw:****@127.0.0.1:\(tunnelPort)"))
            #expect(try await unauthorized.stop() == 0)

            let (refusing, refusingPort) = try await Self.connectProxy(["refuse"])
            environment["http_proxy"] = "http://127.0.0.1:\(refusingPort)"
            let (refused, answer) = try await Self.register(register, environment: environment)
            #expect(answer.status == 503, "\(answer.body)")
            #expect(refused.standardOutput.contains("proxy=http://127.0.0.1:\(refusingPort)"))
            #expect(try await refused.stop() == 0)

            // no_proxy names SENS's host: the calls go past the proxy.
            let tunnelsAsked = refusing.standardOutput.split(separator: "\n").count
            environment["no_proxy"] = "localhost,127.0.0.1"
            let (direct, directAnswer) = try await Self.register(register, environment: environment)
            #expect(directAnswer.status == 200)
            #expect(try await direct.stop() == 0)
            #expect(tunnelsAsked >= 2, "the port line and at least one refused tunnel")
            #expect(refusing.standardOutput.split(separator: "\n").count == tunnelsAsked, "no tunnel past no_proxy")
            _ = try await refusing.stop()
            _ = try await tunnel.stop()
        }
    }

    @Test func anUnreachableSENSAtStartUpIsOnlyAWarning() async throws {
        let gateway = try GatewayProcess(
            [],
            environment: [
                "SENS_ACCESS_KEY": "abcdefgh1234", "SENS_SECRET_KEY": "x", "SENS_SERVICE_ID": "ncp:sms:kr:1:sens",
                "SENS_BASE_URL": "http://127.0.0.1:9", "HTTP_PORT": "0", "SENS_CONNECT_TIMEOUT_MILLISECONDS": "200",
            ]
        )
        let port = try await gateway.listeningPort()
        try await gateway.waitForOutput("SENS could not be checked at start-up")
        #expect(gateway.standardOutput.contains("warning"))
        #expect(gateway.standardOutput.contains("accessKey=abcd********"))
        #expect(!gateway.standardOutput.contains("abcdefgh1234"))
        let readiness = try await PooledClient.with(port: port) { client in
            try await client.send(.GET, "/readyz").status
        }
        #expect(readiness == 200, "it may come back")
        #expect(try await gateway.stop() == 0)
    }
}
