import Configuration
import Glibc
import Logging
import SENSGateway

/// `sens-gateway`: the internal opt-out gateway in front of NCP SENS.
@main
struct GatewayCommand {
    static func main() async {
        let arguments = CommandLine.arguments
        if arguments.dropFirst().contains("--help") || arguments.dropFirst().contains("-h") {
            print(GatewayStartup.usage)
            return
        }
        var configuration: GatewayConfiguration
        switch GatewayStartup.configuration(arguments: arguments) {
        case .success(let value): configuration = value
        case .failure(let failure):
            StandardError.write(failure.line)
            exit(2)
        }
        let files = FileDescriptorLimit.raise()
        // The default bound is lowered to what the open-file limit holds (a laptop's, say); one that was set is not.
        let defaultBound = GatewaySettings.defaultInteger("http.maxConnections")
        if FileDescriptorLimit.refusal(maxConnections: configuration.http.maxConnections, limit: files.after) != nil,
            configuration.http.maxConnections == defaultBound, files.after > 2 * FileDescriptorLimit.headroom
        {
            // The `open-file limit` line shows the bound it was lowered to.
            configuration.http.maxConnections = files.after - FileDescriptorLimit.headroom
        }
        if let refusal = FileDescriptorLimit.refusal(
            maxConnections: configuration.http.maxConnections,
            limit: files.after
        ) {
            StandardError.write("sens-gateway: configuration error: " + refusal)
            exit(2)
        }
        let level = configuration.log.level
        LoggingSystem.bootstrap { label in
            if configuration.log.format == .json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        do {
            let logger = Logger(label: "sens-gateway")
            let logFileLimit: @Sendable () -> Void = { [maxConnections = configuration.http.maxConnections] in
                logger.info(
                    "open-file limit",
                    metadata: [
                        "before": "\(files.before)", "now": "\(files.after)", "maxConnections": "\(maxConnections)",
                    ]
                )
            }
            if configuration.isSimulator {
                // The simulator's line comes first (where it listens, how to seed it); it logs this one after.
                try await SimulatorMode.run(configuration, logger: logger, thenLog: logFileLimit)
            } else {
                logFileLimit()
                try await GatewayRunner.run(configuration, logger: logger)
            }
        } catch {
            let stop = GatewayStartup.stopped(by: error, configuration: configuration)
            StandardError.write(stop.line)
            exit(stop.status)
        }
    }
}

/// One line to standard error, unbuffered.
enum StandardError {
    static func write(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
