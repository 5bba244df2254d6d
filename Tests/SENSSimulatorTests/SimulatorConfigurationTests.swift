import Configuration
import SENSCore
import SENSSimulator
import Testing

@Suite("SENS simulator configuration")
struct SimulatorConfigurationTests {
    @Test func readsCommandLineFlagsBeforeEnvironment() throws {
        let reader = ConfigReader(providers: [
            CommandLineArgumentsProvider(arguments: [
                "sens-simulator", "--sens-service-id", "ncp:sms:kr:000000000001:test", "--simulator-failure-rate",
                "0.25",
                "--simulator-failure-status", "503",
            ]),
            EnvironmentVariablesProvider(environmentVariables: [
                "SENS_SERVICE_ID": "ncp:sms:kr:000000000002:env", "SENS_ACCESS_KEY": "ENV_ACCESS",
                "SENS_SECRET_KEY": "ENV_SECRET",
                "SIMULATOR_LATENCY_MILLISECONDS": "15",
            ]),
        ])
        let configuration = try SimulatorConfiguration(reader: reader)
        #expect(configuration.serviceID == "ncp:sms:kr:000000000001:test")
        #expect(configuration.credentials.accessKey == "ENV_ACCESS")
        #expect(configuration.faults == FaultSettings(latencyMilliseconds: 15, failureRate: 0.25, failureStatus: 503))
        let signer = NCPSigner(credentials: configuration.credentials)
        let reference = NCPSigner(
            credentials: NCPCredentials(accessKey: "ENV_ACCESS", secretKey: NCPSecretKey("ENV_SECRET"))
        )
        #expect(
            signer.signature(method: "GET", pathAndQuery: "/", timestamp: "1")
                == reference.signature(method: "GET", pathAndQuery: "/", timestamp: "1")
        )
    }

    @Test func defaultsToTheDesignTestKeys() throws {
        let configuration = try SimulatorConfiguration(reader: ConfigReader(providers: [InMemoryProvider(values: [:])]))
        #expect(configuration.credentials.accessKey == "ACCESS_KEY_ID")
        #expect(configuration.serviceID == "ncp:sms:kr:123456789012:sens")
        #expect(configuration.faults == .none)
    }

    @Test(arguments: [
        ["simulator.failureRate": ConfigValue(1.5, isSecret: false)],
        ["simulator.failureStatus": ConfigValue(200, isSecret: false)],
        ["sens.serviceId": ConfigValue("a/b", isSecret: false)],
        ["sens.secretKey": ConfigValue("", isSecret: true)],
    ])
    func refusesInvalidValues(values: [AbsoluteConfigKey: ConfigValue]) {
        #expect(throws: SimulatorConfigurationError.self) {
            try SimulatorConfiguration(reader: ConfigReader(providers: [InMemoryProvider(values: values)]))
        }
    }
}
