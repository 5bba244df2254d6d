import Synchronization

/// Faults the simulator injects into SENS calls (never into its `/_simulator` admin routes).
public struct FaultSettings: Codable, Sendable, Equatable {
    /// Added before every answer.
    public var latencyMilliseconds: Int
    /// Share of calls, 0–1, answered with `failureStatus` and the matching API Gateway error body.
    public var failureRate: Double
    public var failureStatus: Int
    /// Share of calls, 0–1, answered 429 (code 410, Throttle Limited) with `Retry-After`.
    public var throttleRate: Double
    public var retryAfterSeconds: Int

    public init(latencyMilliseconds: Int = 0, failureRate: Double = 0, failureStatus: Int = 500,
                throttleRate: Double = 0, retryAfterSeconds: Int = 1) {
        self.latencyMilliseconds = latencyMilliseconds
        self.failureRate = failureRate
        self.failureStatus = failureStatus
        self.throttleRate = throttleRate
        self.retryAfterSeconds = retryAfterSeconds
    }

    public static let none = FaultSettings()

    /// Why these settings cannot be used, or nil when they can.
    public var problem: String? {
        if !(0...60_000).contains(latencyMilliseconds) { return "latencyMilliseconds must be 0–60000" }
        if !(0...1).contains(failureRate) { return "failureRate must be 0–1" }
        if !(0...1).contains(throttleRate) { return "throttleRate must be 0–1" }
        if !(400...599).contains(failureStatus) { return "failureStatus must be 400–599" }
        if !(0...86_400).contains(retryAfterSeconds) { return "retryAfterSeconds must be 0–86400" }
        return nil
    }
}

/// What to do with one SENS call.
enum FaultDecision: Equatable {
    case proceed
    case fail(status: Int)
    case throttle(retryAfterSeconds: Int)
}

/// Holds the current fault settings (changeable at run time) and draws a decision for each call.
public final class FaultInjector: Sendable {
    private let current: Mutex<FaultSettings>

    public init(_ settings: FaultSettings = .none) {
        current = Mutex(settings)
    }

    public var settings: FaultSettings {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }

    func decide() -> (latencyMilliseconds: Int, decision: FaultDecision) {
        let settings = self.settings
        let roll = Double.random(in: 0..<1)
        if roll < settings.throttleRate {
            return (settings.latencyMilliseconds, .throttle(retryAfterSeconds: settings.retryAfterSeconds))
        }
        if roll < settings.throttleRate + settings.failureRate {
            return (settings.latencyMilliseconds, .fail(status: settings.failureStatus))
        }
        return (settings.latencyMilliseconds, .proceed)
    }
}
