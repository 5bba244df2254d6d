import Synchronization

/// Counts of what reached the simulator, so tests and benchmarks can tell how many upstream calls were made.
public struct SimulatorCounts: Codable, Sendable, Equatable {
    /// SENS calls that passed authentication and were handled (successfully or with a 400).
    public var registerCalls = 0
    public var listCalls = 0
    public var deleteCalls = 0
    /// Calls refused by the API Gateway checks (signature, timestamp, access key, service id).
    public var rejectedCalls = 0
    /// Calls answered with an injected fault.
    public var faultedCalls = 0
    /// The W3C `traceparent` of the last calls that carried one (at most `traceparentsKept`, newest last): SENS
    /// ignores it; a test reads here what trace context the gateway passed on.
    public var traceparents: [String] = []
    public static let traceparentsKept = 20

    public init() {}

    public var totalCalls: Int { registerCalls + listCalls + deleteCalls + rejectedCalls + faultedCalls }
}

public final class SimulatorStats: Sendable {
    private let counts = Mutex(SimulatorCounts())

    public init() {}

    public var snapshot: SimulatorCounts { counts.withLock { $0 } }

    func record(_ update: (inout SimulatorCounts) -> Void) {
        counts.withLock { update(&$0) }
    }

    public func reset() {
        counts.withLock { $0 = SimulatorCounts() }
    }
}
