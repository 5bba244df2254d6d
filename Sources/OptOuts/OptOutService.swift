/// One SMS service the gateway serves: its name in the gateway's routes, its service id at the source, its
/// directory and its health. Each service has its own directory, caches, breaker and bulkhead, so one service's
/// outage never affects another's answers.
public struct OptOutService: Sendable {
    public let name: String
    /// The SENS service id (`ncp:sms:kr:…:name`).
    public let serviceID: String
    public let directory: any OptOutDirectory
    public let health: any ServiceHealth

    public init(
        name: String,
        serviceID: String,
        directory: any OptOutDirectory,
        health: any ServiceHealth = AlwaysHealthy()
    ) {
        self.name = name
        self.serviceID = serviceID
        self.directory = directory
        self.health = health
    }
}

/// The services of one gateway, in configured order, and which one the unprefixed routes address.
public struct OptOutServices: Sendable {
    public let all: [OptOutService]
    public let defaultService: OptOutService
    private let byName: [String: OptOutService]

    /// `defaultName` must name one of `services`, which must be non-empty with distinct names.
    public init(_ services: [OptOutService], defaultName: String? = nil) {
        precondition(!services.isEmpty, "a gateway serves at least one service")
        let byName = Dictionary(uniqueKeysWithValues: services.map { ($0.name, $0) })
        self.all = services
        self.byName = byName
        self.defaultService = defaultName.flatMap { byName[$0] } ?? services[0]
    }

    public func named(_ name: String) -> OptOutService? { byName[name] }
}

/// Why a service cannot be served now, if it cannot.
public protocol ServiceHealth: Sendable {
    func problem() -> HealthProblem?
}

/// A machine-readable reason and a sentence for people.
public struct HealthProblem: Sendable, Equatable {
    public var reason: String
    public var detail: String

    public init(reason: String, detail: String) {
        self.reason = reason
        self.detail = detail
    }
}

public struct AlwaysHealthy: ServiceHealth {
    public init() {}
    public func problem() -> HealthProblem? { nil }
}
