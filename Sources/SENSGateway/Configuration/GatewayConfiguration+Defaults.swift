import OptOutMirror
import OptOuts
import SENSClient
import SENSCore

extension GatewayConfiguration {
    /// Every setting at the settings table's default (`GatewaySettings`), with the in-process simulator as SENS:
    /// what `sens-gateway --simulator` runs with. The lower layers' settings take their defaults from here.
    public static let defaults: GatewayConfiguration = {
        switch GatewayStartup.configuration(arguments: ["sens-gateway", "--simulator"], environment: [:]) {
        case .success(let configuration): return configuration
        case .failure(let failure): preconditionFailure("the settings table's defaults do not read: \(failure.line)")
        }
    }()
}

extension ResilienceSettings {
    /// The settings table's defaults.
    public static var defaults: Self { GatewayConfiguration.defaults.resilience }
}

extension CacheSettings {
    /// The settings table's defaults.
    public static var defaults: Self { GatewayConfiguration.defaults.cache }
}

extension MirrorSettings {
    /// The settings table's defaults.
    public static var defaults: Self { GatewayConfiguration.defaults.mirror.settings }
}

extension PostgresStoreSettings {
    /// The database a URL names, with the settings table's pool size and time-out.
    public static func parse(url: String) throws(PostgresURLError) -> PostgresStoreSettings {
        let defaults = GatewaySettings.self
        return try parse(
            url: url,
            poolSize: defaults.defaultInteger("mirror.databasePoolSize"),
            timeout: .seconds(defaults.defaultInteger("mirror.databaseTimeoutSeconds"))
        )
    }
}

extension SENSServiceSettings {
    /// A service at `baseURL` with the settings table's call settings.
    public init(credentials: NCPCredentials, serviceID: String, baseURL: SENSBaseURL) {
        self = GatewayConfiguration.defaults.calls.service(
            credentials: credentials,
            serviceID: serviceID,
            baseURL: baseURL
        )
    }
}

/// Settings values changed in place from another: `ResilienceSettings.defaults.with { $0.maxAttempts = 1 }`.
public protocol Adjustable {}

extension Adjustable {
    public func with(_ change: (inout Self) -> Void) -> Self {
        var copy = self
        change(&copy)
        return copy
    }
}

extension ResilienceSettings: Adjustable {}
extension CacheSettings: Adjustable {}
extension MirrorSettings: Adjustable {}
extension SENSServiceSettings: Adjustable {}
extension GatewayConfiguration: Adjustable {}
