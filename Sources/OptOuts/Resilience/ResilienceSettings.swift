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

    /// A window smaller than the minimum is widened to it here (the configuration reader refuses one instead). The
    /// defaults are the settings table's (`ResilienceSettings.defaults`, in the application).
    public init(
        deadlineMilliseconds: Int,
        maxAttempts: Int,
        breakerMinimumCalls: Int,
        breakerFailurePercent: Int,
        breakerWindow: Int,
        breakerCooldownMilliseconds: Int,
        maxConcurrentCalls: Int,
        maxQueuedCalls: Int,
        credentialsProbeSeconds: Int
    ) {
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

extension ResilienceSettings {
    /// The retry policy these settings describe.
    public var retryPolicy: RetryPolicy { RetryPolicy(maxAttempts: maxAttempts) }

    /// A new bulkhead of these settings' size.
    public func bulkhead() -> Bulkhead { Bulkhead(maxConcurrent: maxConcurrentCalls, maxQueued: maxQueuedCalls) }

    /// A new circuit breaker with these settings.
    public func circuitBreaker(
        onStateChange: @escaping @Sendable (CircuitBreaker.State) -> Void = { _ in }
    ) -> CircuitBreaker {
        CircuitBreaker(
            minimumCalls: breakerMinimumCalls,
            failurePercent: breakerFailurePercent,
            windowSize: breakerWindow,
            cooldown: .milliseconds(breakerCooldownMilliseconds),
            onStateChange: onStateChange
        )
    }
}
