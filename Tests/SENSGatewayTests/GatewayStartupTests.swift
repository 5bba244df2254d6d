import Foundation
import SENSCore
import SENSGateway
import Testing

@Suite("Gateway start-up configuration")
struct GatewayStartupTests {
    let complete = ["SENS_ACCESS_KEY": "AK", "SENS_SECRET_KEY": "SK", "SENS_SERVICE_ID": "ncp:sms:kr:123456789012:sens"]

    @Test func readsEnvironmentAndFlags() throws {
        let configuration = try GatewayStartup.configuration(
            arguments: ["sens-gateway", "--http-port", "9999", "--sens-base-url", "http://127.0.0.1:1234/prefix/"],
            environment: complete.merging(["HTTP_PORT": "1", "LOG_LEVEL": "debug", "SENS_REGISTER_TIME_OFFSET": "-05:30"]) { $1 }
        ).get()
        #expect(configuration.http.port == 9999)
        #expect(configuration.http.host == "127.0.0.1")
        #expect(configuration.logLevel == "debug")
        let sens = try #require(configuration.sens)
        #expect(sens.credentials.accessKey == "AK")
        #expect(sens.baseURL.text == "http://127.0.0.1:1234/prefix")
        #expect(sens.baseURL.pathPrefix == "/prefix")
        #expect(sens.registerTimeOffsetSeconds == -(5 * 3600 + 1800))
        #expect(sens.serviceID == "ncp:sms:kr:123456789012:sens")
    }

    @Test func readsTheSecretFromAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sens-secret-\(UUID().uuidString)").path
        try "file-secret\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var environment = complete
        environment["SENS_SECRET_KEY"] = nil
        environment["SENS_SECRET_KEY_FILE"] = path
        let sens = try #require(try GatewayStartup.configuration(arguments: ["sens-gateway"], environment: environment).get().sens)
        let expected = NCPSigner(credentials: NCPCredentials(accessKey: "AK", secretKey: NCPSecretKey("file-secret")))
        #expect(NCPSigner(credentials: sens.credentials).signature(method: "GET", pathAndQuery: "/", timestamp: "1")
                == expected.signature(method: "GET", pathAndQuery: "/", timestamp: "1"))
    }

    @Test func simulatorModeNeedsNoKeys() throws {
        let configuration = try GatewayStartup.configuration(arguments: ["sens-gateway", "--simulator"], environment: [:]).get()
        #expect(configuration.simulator)
        #expect(configuration.sens == nil)
    }

    /// A missing or malformed value stops start-up with one line naming it.
    @Test(arguments: [
        (["SENS_ACCESS_KEY": nil], "sens-gateway: configuration error: sens.accessKey is required (environment SENS_ACCESS_KEY, or --sens-access-key); or run with --simulator"),
        (["SENS_SECRET_KEY": nil], "sens-gateway: configuration error: sens.secretKey or sens.secretKeyFile is required (environment SENS_SECRET_KEY or SENS_SECRET_KEY_FILE); or run with --simulator"),
        (["SENS_SERVICE_ID": nil], "sens-gateway: configuration error: sens.serviceId is required (environment SENS_SERVICE_ID, or --sens-service-id); or run with --simulator"),
        (["SENS_SERVICE_ID": "my-service"], "sens-gateway: configuration error: sens.serviceId must look like ncp:sms:kr:123456789012:name"),
        (["SENS_BASE_URL": "ftp://x"], "sens-gateway: configuration error: sens.baseUrl must be an http(s) URL without query, like https://sens.apigw.ntruss.com"),
        (["SENS_SECRET_KEY_FILE": "/nonexistent"], "sens-gateway: configuration error: set sens.secretKey or sens.secretKeyFile, not both"),
        (["HTTP_PORT": "70000"], "sens-gateway: configuration error: http.port must be 0–65535, not 70000"),
        (["LOG_LEVEL": "loud"], "sens-gateway: configuration error: log.level must be one of trace, debug, info, notice, warning, error, critical"),
        (["SENS_REGISTER_TIME_OFFSET": "KST"], "sens-gateway: configuration error: sens.registerTimeOffset must be an offset like +09:00"),
    ] as [([String: String?], String)])
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
}
