/// The time by which the incoming request must be answered, set once per request by the HTTP layer
/// (`RequestScopeMiddleware`) and read by everything that waits on SENS (attempt timeouts, retry back-off).
/// Fetches started for the request, including the cache's shared ones, inherit it.
public enum RequestDeadline {
    @TaskLocal public static var current: ContinuousClock.Instant?

    /// Time left, or nil when no deadline is set.
    public static var remaining: Duration? {
        current.map { ContinuousClock.now.duration(to: $0) }
    }
}
