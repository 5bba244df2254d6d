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
    /// Share of calls whose connection is closed without an answer.
    public var dropRate: Double
    /// Share of calls answered 200 with a body cut off midway (the connection closes mid-body).
    public var truncateRate: Double
    /// Share of calls answered 200 with a body that is not JSON.
    public var garbageRate: Double
    /// A random wait of up to this, after a call that proceeds has been applied and before it is answered: the
    /// answers of calls applied one after the other can then arrive in the other order.
    public var answerJitterMilliseconds: Int

    public init(
        latencyMilliseconds: Int = 0,
        failureRate: Double = 0,
        failureStatus: Int = 500,
        throttleRate: Double = 0,
        retryAfterSeconds: Int = 1,
        dropRate: Double = 0,
        truncateRate: Double = 0,
        garbageRate: Double = 0,
        answerJitterMilliseconds: Int = 0
    ) {
        self.answerJitterMilliseconds = answerJitterMilliseconds
        self.latencyMilliseconds = latencyMilliseconds
        self.failureRate = failureRate
        self.failureStatus = failureStatus
        self.throttleRate = throttleRate
        self.retryAfterSeconds = retryAfterSeconds
        self.dropRate = dropRate
        self.truncateRate = truncateRate
        self.garbageRate = garbageRate
    }

    /// Fields left out keep their defaults, so `{"failureRate":0.2}` is a valid setting.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = FaultSettings()
        self.init(
            latencyMilliseconds: try container.decodeIfPresent(Int.self, forKey: .latencyMilliseconds)
                ?? defaults.latencyMilliseconds,
            failureRate: try container.decodeIfPresent(Double.self, forKey: .failureRate) ?? defaults.failureRate,
            failureStatus: try container.decodeIfPresent(Int.self, forKey: .failureStatus) ?? defaults.failureStatus,
            throttleRate: try container.decodeIfPresent(Double.self, forKey: .throttleRate) ?? defaults.throttleRate,
            retryAfterSeconds: try container.decodeIfPresent(Int.self, forKey: .retryAfterSeconds)
                ?? defaults.retryAfterSeconds,
            dropRate: try container.decodeIfPresent(Double.self, forKey: .dropRate) ?? defaults.dropRate,
            truncateRate: try container.decodeIfPresent(Double.self, forKey: .truncateRate) ?? defaults.truncateRate,
            garbageRate: try container.decodeIfPresent(Double.self, forKey: .garbageRate) ?? defaults.garbageRate,
            answerJitterMilliseconds: try container.decodeIfPresent(Int.self, forKey: .answerJitterMilliseconds)
                ?? defaults.answerJitterMilliseconds
        )
    }

    public static let none = FaultSettings()

    /// Why these settings cannot be used, or nil when they can.
    public var problem: String? {
        if !(0...60_000).contains(latencyMilliseconds) { return "latencyMilliseconds must be 0–60000" }
        if !(0...60_000).contains(answerJitterMilliseconds) { return "answerJitterMilliseconds must be 0–60000" }
        if !(0...1).contains(failureRate) { return "failureRate must be 0–1" }
        if !(0...1).contains(throttleRate) { return "throttleRate must be 0–1" }
        for (name, rate) in [("dropRate", dropRate), ("truncateRate", truncateRate), ("garbageRate", garbageRate)]
        where !(0...1).contains(rate) {
            return "\(name) must be 0–1"
        }
        if throttleRate + failureRate + dropRate + truncateRate + garbageRate > 1 {
            return "the rates must add up to at most 1"
        }
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
    case drop
    case truncate
    case garbage
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
        var roll = Double.random(in: 0..<1)
        let outcomes: [(Double, FaultDecision)] = [
            (settings.throttleRate, .throttle(retryAfterSeconds: settings.retryAfterSeconds)),
            (settings.failureRate, .fail(status: settings.failureStatus)),
            (settings.dropRate, .drop), (settings.truncateRate, .truncate), (settings.garbageRate, .garbage),
        ]
        for (rate, decision) in outcomes {
            if roll < rate { return (settings.latencyMilliseconds, decision) }
            roll -= rate
        }
        return (settings.latencyMilliseconds, .proceed)
    }
}
