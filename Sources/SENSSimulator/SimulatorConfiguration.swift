import Configuration
import SENSCore

/// What the simulator plays: whose keys it accepts, which service id it serves, and in which zone it reports.
public struct SimulatorConfiguration: Sendable {
    public var credentials: NCPCredentials
    /// The SMS services of the main account (`credentials`), each with its own list; the first is `serviceID`.
    public var serviceIDs: [String]
    /// Further NCP accounts, each with its keys and its own services: their calls must be signed with their keys.
    public var accounts: [SimulatedAccount]
    public var localTime: SENSLocalTime
    public var faults: FaultSettings

    /// The main account's first service.
    public var serviceID: String { serviceIDs[0] }

    /// Publicly known defaults (the keys of the NCP signature test vectors): the simulator protects nothing.
    public static let defaultAccessKey = "ACCESS_KEY_ID"
    public static let defaultSecretKey = "SECRET_KEY"
    public static let defaultServiceID = "ncp:sms:kr:123456789012:sens"

    public init(
        credentials: NCPCredentials = NCPCredentials(
            accessKey: defaultAccessKey,
            secretKey: NCPSecretKey(defaultSecretKey)
        ),
        serviceID: String = defaultServiceID,
        serviceIDs: [String]? = nil,
        accounts: [SimulatedAccount] = [],
        localTime: SENSLocalTime = .korea,
        faults: FaultSettings = .none
    ) {
        self.credentials = credentials
        self.serviceIDs = serviceIDs.flatMap { $0.isEmpty ? nil : $0 } ?? [serviceID]
        self.accounts = accounts
        self.localTime = localTime
        self.faults = faults
    }

    /// Every account, the main one first.
    var allAccounts: [SimulatedAccount] {
        [SimulatedAccount(credentials: credentials, serviceIDs: serviceIDs)] + accounts
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
        // Repeatable: `--sens-service-id A --sens-service-id B`, or `SENS_SERVICE_ID=A,B`.
        let serviceIDs =
            reader.stringArray(forKey: "sens.serviceId")
            ?? reader.string(forKey: "sens.serviceId").map {
                $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            }
            ?? [Self.defaultServiceID]
        guard !accessKey.isEmpty, !secretKey.isEmpty else {
            throw SimulatorConfigurationError(message: "sens.accessKey and sens.secretKey must not be empty")
        }
        for serviceID in serviceIDs where serviceID.isEmpty || serviceID.contains("/") || serviceID.contains("?") {
            throw SimulatorConfigurationError(
                message: "sens.serviceId must be one path segment, like \(Self.defaultServiceID), not \"\(serviceID)\""
            )
        }
        self.init(
            credentials: NCPCredentials(accessKey: accessKey, secretKey: NCPSecretKey(secretKey)),
            serviceIDs: serviceIDs,
            faults: faults
        )
    }
}

/// An NCP account the simulator knows: its keys and the SMS services it owns.
public struct SimulatedAccount: Sendable {
    public var credentials: NCPCredentials
    public var serviceIDs: [String]

    public init(credentials: NCPCredentials, serviceIDs: [String]) {
        self.credentials = credentials
        self.serviceIDs = serviceIDs
    }
}

public struct SimulatorConfigurationError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
