import Configuration
import SENSCore

/// What the simulator plays: whose keys it accepts, which service id it serves, and in which zone it reports.
public struct SimulatorConfiguration: Sendable {
    public var credentials: NCPCredentials
    public var serviceID: String
    public var localTime: SENSLocalTime
    public var faults: FaultSettings

    /// Publicly known defaults (the DESIGN.md test vectors' keys): the simulator protects nothing.
    public static let defaultAccessKey = "ACCESS_KEY_ID"
    public static let defaultSecretKey = "SECRET_KEY"
    public static let defaultServiceID = "ncp:sms:kr:123456789012:sens"

    public init(
        credentials: NCPCredentials = NCPCredentials(accessKey: defaultAccessKey, secretKey: NCPSecretKey(defaultSecretKey)),
        serviceID: String = defaultServiceID,
        localTime: SENSLocalTime = .korea,
        faults: FaultSettings = .none
    ) {
        self.credentials = credentials
        self.serviceID = serviceID
        self.localTime = localTime
        self.faults = faults
    }

    /// Reads `sens.accessKey`, `sens.secretKey`, `sens.serviceId` and the `simulator.*` fault keys
    /// (`SENS_ACCESS_KEY`, `--sens-access-key`, `SIMULATOR_FAILURE_RATE`, ...).
    public init(reader: ConfigReader) throws(SimulatorConfigurationError) {
        let faults = FaultSettings(
            latencyMilliseconds: reader.int(forKey: "simulator.latencyMilliseconds", default: 0),
            failureRate: reader.double(forKey: "simulator.failureRate", default: 0),
            failureStatus: reader.int(forKey: "simulator.failureStatus", default: 500),
            throttleRate: reader.double(forKey: "simulator.throttleRate", default: 0),
            retryAfterSeconds: reader.int(forKey: "simulator.retryAfterSeconds", default: 1),
            dropRate: reader.double(forKey: "simulator.dropRate", default: 0),
            truncateRate: reader.double(forKey: "simulator.truncateRate", default: 0),
            garbageRate: reader.double(forKey: "simulator.garbageRate", default: 0)
        )
        if let problem = faults.problem { throw SimulatorConfigurationError(message: problem) }
        let accessKey = reader.string(forKey: "sens.accessKey", default: Self.defaultAccessKey)
        let secretKey = reader.string(forKey: "sens.secretKey", isSecret: true, default: Self.defaultSecretKey)
        let serviceID = reader.string(forKey: "sens.serviceId", default: Self.defaultServiceID)
        guard !accessKey.isEmpty, !secretKey.isEmpty else {
            throw SimulatorConfigurationError(message: "sens.accessKey and sens.secretKey must not be empty")
        }
        guard !serviceID.isEmpty, !serviceID.contains("/"), !serviceID.contains("?") else {
            throw SimulatorConfigurationError(message: "sens.serviceId must be one path segment, like \(Self.defaultServiceID)")
        }
        self.init(
            credentials: NCPCredentials(accessKey: accessKey, secretKey: NCPSecretKey(secretKey)),
            serviceID: serviceID,
            faults: faults
        )
    }
}

public struct SimulatorConfigurationError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
