import Configuration
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Reading the command line and environment into a configuration, or into the one line that says why not.
public enum GatewayStartup {
    /// Command-line flags first, then environment variables (`environment` replaces the process's, for tests).
    public static func configuration(
        arguments: [String],
        environment: [String: String]? = nil
    ) -> Result<GatewayConfiguration, StartupFailure> {
        // SENS_SECRET_KEY and every SENS_SERVICE_NAME_SECRET_KEY.
        let secrets: SecretsSpecifier<String, String> = .dynamic { name, _ in name.hasSuffix("SECRET_KEY") }
        let environmentProvider =
            environment.map {
                EnvironmentVariablesProvider(environmentVariables: $0, secretsSpecifier: secrets)
            } ?? EnvironmentVariablesProvider(secretsSpecifier: secrets)
        do {
            let process = environment ?? ProcessInfo.processInfo.environment
            let settings = try SettingsReader(
                arguments: arguments,
                environment: ConfigReader(provider: environmentProvider),
                environmentNames: process.keys,
                processEnvironment: process
            )
            return .success(try GatewayConfiguration(settings: settings))
        } catch {
            return .failure(StartupFailure(line: "sens-gateway: configuration error: \(error)"))
        }
    }

    public struct StartupFailure: Error, Equatable {
        public let line: String
    }

    public static var usage: String { GatewaySettings.usage }
}

extension GatewayStartup {
    /// The one line (and exit status) for a gateway that stopped with `error`: a listening address that is taken
    /// is a start-up refusal (2), like a bad setting; anything else is a failure (1).
    public static func stopped(
        by error: any Error,
        configuration: GatewayConfiguration
    ) -> (line: String, status: Int32) {
        let address = "\(configuration.http.host):\(configuration.http.port)"
        if let io = error as? IOError, io.errnoCode == EADDRINUSE {
            // In simulator mode the simulator's port may be the one taken: both are named.
            if case .simulator(_, let simulatorPort) = configuration.upstream, simulatorPort != 0 {
                return (
                    "sens-gateway: cannot listen on \(address) or the simulator's 127.0.0.1:\(simulatorPort): an "
                        + "address is already in use (http.host, http.port, simulator.port; 0 picks a free port)",
                    2
                )
            }
            return (
                "sens-gateway: cannot listen on \(address): the address is already in use (http.host, http.port)", 2
            )
        }
        if let io = error as? IOError, io.errnoCode == EADDRNOTAVAIL {
            return (
                "sens-gateway: cannot listen on \(address): the address is not one of this machine's (http.host)", 2
            )
        }
        if let error = error as? MirrorOpenError {
            return ("sens-gateway: \(error)", 2)
        }
        if error is SocketAddressError {
            return ("sens-gateway: cannot listen on \(address): the host cannot be resolved (http.host)", 2)
        }
        return ("sens-gateway: stopped: \(error)", 1)
    }
}
