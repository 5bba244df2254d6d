import Configuration
import Glibc
import Hummingbird
import Logging
import SENSCore
import SENSSimulator

/// `sens-simulator`: a local stand-in for SENS's unsubscribe API, for development, tests and benchmarks.
@main
struct SimulatorCommand {
    static let usage = """
        Usage: sens-simulator [options]   (each option can also be set as the environment variable in brackets)
          --http-host HOST                  address to listen on [HTTP_HOST] (default 127.0.0.1)
          --http-port PORT                  port to listen on, 0 for any free one [HTTP_PORT] (default 9090)
          --sens-access-key KEY             accepted access key [SENS_ACCESS_KEY] (default ACCESS_KEY_ID)
          --sens-secret-key KEY             accepted secret key [SENS_SECRET_KEY] (default SECRET_KEY)
          --sens-service-id ID              served SMS service id, repeatable for several, each with its own list
                                            [SENS_SERVICE_ID, comma-separated] (default ncp:sms:kr:123456789012:sens)
          --simulator-latency-milliseconds N   added to every SENS answer (default 0)
          --simulator-failure-rate R        share of calls, 0-1, that fail (default 0)
          --simulator-failure-status S      status of those failures (default 500)
          --simulator-throttle-rate R       share of calls, 0-1, answered 429 (default 0)
          --simulator-retry-after-seconds N Retry-After of those 429s (default 1)
          --simulator-drop-rate R           share of calls whose connection is closed unanswered (default 0)
          --simulator-truncate-rate R       share of calls answered 200 with a body cut off midway (default 0)
          --simulator-garbage-rate R        share of calls answered 200 with a non-JSON body (default 0)
          --log-level LEVEL                 trace, debug, info, notice, warning, error [LOG_LEVEL] (default info)
        Faults can also be changed while running: PUT /_simulator/faults; call counts: GET /_simulator/stats.
        """

    static func main() async throws {
        if CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h") {
            print(usage)
            return
        }
        let reader = ConfigReader(providers: [
            CommandLineArgumentsProvider(secretsSpecifier: .specific(["--sens-secret-key"])),
            EnvironmentVariablesProvider(secretsSpecifier: .specific(["SENS_SECRET_KEY"])),
            InMemoryProvider(values: ["http.host": "127.0.0.1", "http.port": 9090]),
        ])
        let configuration: SimulatorConfiguration
        do {
            configuration = try SimulatorConfiguration(reader: reader)
        } catch {
            StandardError.write("sens-simulator: invalid configuration: \(error)")
            exit(2)
        }
        let logLevel = reader.string(forKey: "log.level", as: Logger.Level.self, default: .info)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let logger = Logger(label: "sens-simulator")
        let simulator = SENSSimulator(configuration: configuration)
        let app = simulator.buildApplication(
            server: ApplicationConfiguration(reader: reader.scoped(to: "http")),
            logger: logger
        ) { port in
            logger.info(
                "SENS simulator ready",
                metadata: [
                    "port": "\(port)", "serviceIds": "\(configuration.serviceIDs.joined(separator: ","))",
                    "accessKey": "\(configuration.credentials.accessKey)",
                ]
            )
        }
        try await app.runService()
    }
}

/// One line to standard error, unbuffered.
enum StandardError {
    static func write(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
