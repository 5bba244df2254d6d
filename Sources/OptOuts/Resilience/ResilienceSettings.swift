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
    /// How often a service whose keys SENS refused is asked again.
    public var credentialsProbeSeconds: Int

    /// A window smaller than the minimum is widened to it here (the configuration reader refuses one instead).
    public init(deadlineMilliseconds: Int = 10_000, maxAttempts: Int = 3, breakerMinimumCalls: Int = 20,
                breakerFailurePercent: Int = 50, breakerWindow: Int = 100, breakerCooldownMilliseconds: Int = 5_000,
                maxConcurrentCalls: Int = 64, maxQueuedCalls: Int = 128, credentialsProbeSeconds: Int = 30) {
        self.deadlineMilliseconds = deadlineMilliseconds
        self.maxAttempts = maxAttempts
        self.breakerMinimumCalls = breakerMinimumCalls
        self.breakerFailurePercent = breakerFailurePercent
        self.breakerWindow = max(breakerWindow, breakerMinimumCalls)
        self.breakerCooldownMilliseconds = breakerCooldownMilliseconds
        self.maxConcurrentCalls = maxConcurrentCalls
        self.maxQueuedCalls = maxQueuedCalls
        self.credentialsProbeSeconds = credentialsProbeSeconds
    }
}
