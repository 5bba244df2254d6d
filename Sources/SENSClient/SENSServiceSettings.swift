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
    /// The egress proxy the calls go through, if any (one for every service: the HTTP client is shared).
    public var proxy: EgressProxy?

    /// The defaults are the settings table's (`SENSServiceSettings.init(credentials:serviceID:baseURL:)`, in the
    /// application).
    public init(
        credentials: NCPCredentials,
        serviceID: String,
        baseURL: SENSBaseURL,
        registerTimeOffsetSeconds: Int,
        connectTimeoutMilliseconds: Int,
        attemptTimeoutMilliseconds: Int,
        proxy: EgressProxy? = nil
    ) {
        self.proxy = proxy
        self.credentials = credentials
        self.serviceID = serviceID
        self.baseURL = baseURL
        self.registerTimeOffsetSeconds = registerTimeOffsetSeconds
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.attemptTimeoutMilliseconds = attemptTimeoutMilliseconds
    }
}
