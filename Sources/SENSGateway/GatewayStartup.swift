import Configuration

/// Reading the command line and environment into a configuration, or into the one line that says why not.
public enum GatewayStartup {
    /// Command-line flags first, then environment variables.
    public static func configuration(
        arguments: [String],
        environment: [String: String]? = nil
    ) -> Result<GatewayConfiguration, StartupFailure> {
        let environmentProvider = environment.map {
            EnvironmentVariablesProvider(environmentVariables: $0, secretsSpecifier: .specific(["SENS_SECRET_KEY"]))
        } ?? EnvironmentVariablesProvider(secretsSpecifier: .specific(["SENS_SECRET_KEY"]))
        let reader = ConfigReader(providers: [
            CommandLineArgumentsProvider(arguments: arguments, secretsSpecifier: .specific(["--sens-secret-key"])),
            environmentProvider,
        ])
        do {
            return .success(try GatewayConfiguration(reader: reader))
        } catch {
            return .failure(StartupFailure(line: "sens-gateway: configuration error: \(error)"))
        }
    }

    public struct StartupFailure: Error, Equatable {
        public let line: String
    }

    public static let usage = """
        Usage: sens-gateway [options]   (each option can also be set as the environment variable in brackets)
          --simulator                         run against an in-process SENS simulator (no NCP account) [SIMULATOR=true]
          --sens-access-key KEY               NCP access key [SENS_ACCESS_KEY]
          --sens-secret-key KEY               NCP secret key [SENS_SECRET_KEY]
          --sens-secret-key-file PATH         file holding the secret key, e.g. a mounted Secret [SENS_SECRET_KEY_FILE]
          --sens-service-id ID                SMS service id, ncp:sms:kr:123456789012:name [SENS_SERVICE_ID]
          --sens-base-url URL                 SENS API (default https://sens.apigw.ntruss.com) [SENS_BASE_URL]
          --sens-register-time-offset +HH:MM  zone of SENS registerTime values (default +09:00) [SENS_REGISTER_TIME_OFFSET]
          --sens-connect-timeout-milliseconds N   (default 1000) [SENS_CONNECT_TIMEOUT_MILLISECONDS]
          --sens-attempt-timeout-milliseconds N   one attempt of a SENS call (default 3000) [SENS_ATTEMPT_TIMEOUT_MILLISECONDS]
          --sens-deadline-milliseconds N      every request is answered within this (default 10000) [SENS_DEADLINE_MILLISECONDS]
          --sens-max-attempts N               attempts per SENS call (default 3) [SENS_MAX_ATTEMPTS]
          --sens-breaker-failure-percent N    circuit opens at this failure share (default 50) [SENS_BREAKER_FAILURE_PERCENT]
          --sens-breaker-minimum-calls N      ... once this many calls are in the window (default 20) [SENS_BREAKER_MINIMUM_CALLS]
          --sens-breaker-window N             calls the share is taken over (default 100) [SENS_BREAKER_WINDOW]
          --sens-breaker-cooldown-milliseconds N  open time before a probe (default 5000) [SENS_BREAKER_COOLDOWN_MILLISECONDS]
          --sens-max-concurrent-calls N       bulkhead: SENS calls at once (default 64) [SENS_MAX_CONCURRENT_CALLS]
          --sens-max-queued-calls N           bulkhead: calls waiting (default 128) [SENS_MAX_QUEUED_CALLS]
          --http-idle-timeout-seconds N       idle connections are closed (default 30) [HTTP_IDLE_TIMEOUT_SECONDS]
          --http-host HOST                    address to listen on (default 127.0.0.1; 0.0.0.0 in the container) [HTTP_HOST]
          --http-port PORT                    (default 8080) [HTTP_PORT]
          --http-max-body-bytes N             larger request bodies get 413 (default 1048576) [HTTP_MAX_BODY_BYTES]
          --cache-ttl-seconds N               how long reads are answered from the cache; 0 turns it off (default 60) [CACHE_TTL_SECONDS]
          --cache-stale-if-error-seconds N    how old a cached answer may be and still be served when SENS fails (default 300) [CACHE_STALE_IF_ERROR_SECONDS]
          --cache-max-entries N               cached check answers, least recently used evicted (default 100000) [CACHE_MAX_ENTRIES]
          --cache-max-list-entries N          cached list pages (default 1000) [CACHE_MAX_LIST_ENTRIES]
          --log-format FORMAT                 text, or json for one object per line (default text) [LOG_FORMAT]
          --log-level LEVEL                   trace, debug, info, notice, warning, error (default info) [LOG_LEVEL]
        """
}
