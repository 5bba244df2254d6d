/// How the gateway defends itself and its callers against a slow or failing SENS.
public struct ResilienceSettings: Sendable, Equatable {
    /// Every incoming request is answered within this time; SENS work past it ends in 504.
    public var deadlineMilliseconds: Int
    public var maxAttempts: Int
    /// The breaker opens when `breakerFailurePercent` of the last `breakerWindow` SENS calls failed, once at
    /// least `breakerMinimumCalls` are in the window.
    public var breakerMinimumCalls: Int
    public var breakerFailurePercent: Int
    public var breakerWindow: Int
    public var breakerCooldownMilliseconds: Int
    public var maxConcurrentCalls: Int
    public var maxQueuedCalls: Int

    public init(deadlineMilliseconds: Int = 10_000, maxAttempts: Int = 3, breakerMinimumCalls: Int = 20,
                breakerFailurePercent: Int = 50, breakerWindow: Int = 100, breakerCooldownMilliseconds: Int = 5_000,
                maxConcurrentCalls: Int = 64, maxQueuedCalls: Int = 128) {
        self.deadlineMilliseconds = deadlineMilliseconds
        self.maxAttempts = maxAttempts
        self.breakerMinimumCalls = breakerMinimumCalls
        self.breakerFailurePercent = breakerFailurePercent
        self.breakerWindow = max(breakerWindow, breakerMinimumCalls)
        self.breakerCooldownMilliseconds = breakerCooldownMilliseconds
        self.maxConcurrentCalls = maxConcurrentCalls
        self.maxQueuedCalls = maxQueuedCalls
    }
}
