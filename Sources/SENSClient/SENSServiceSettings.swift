import SENSCore

/// How to reach one SENS SMS service: where SENS is, whose keys sign the calls, which service id, and how long a
/// call may take.
public struct SENSServiceSettings: Sendable {
    public var credentials: NCPCredentials
    public var serviceID: String
    public var baseURL: SENSBaseURL
    /// The zone SENS's zone-less `registerTime` values are in.
    public var registerTimeOffsetSeconds: Int
    public var connectTimeoutMilliseconds: Int
    /// The longest one attempt of a SENS call may take, answer included (the request deadline may cut it).
    public var attemptTimeoutMilliseconds: Int

    public init(credentials: NCPCredentials, serviceID: String, baseURL: SENSBaseURL = .ncp,
                registerTimeOffsetSeconds: Int = 9 * 3600, connectTimeoutMilliseconds: Int = 1_000,
                attemptTimeoutMilliseconds: Int = 3_000) {
        self.credentials = credentials
        self.serviceID = serviceID
        self.baseURL = baseURL
        self.registerTimeOffsetSeconds = registerTimeOffsetSeconds
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.attemptTimeoutMilliseconds = attemptTimeoutMilliseconds
    }
}
