import CoreMetrics
import Prometheus
import Synchronization

/// The gateway's metrics, kept in a Prometheus registry that is passed in (no global metrics system), and served
/// at `/metrics` in the Prometheus text format. It is also what the cache and the resilience layer report to.
public final class GatewayMetrics: CacheMetrics, ResilienceMetrics {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    /// Request metric handles by label set: looked up once, not in the registry on every request.
    private let requestHandles = Mutex<[RequestLabels: (CoreMetrics.Counter, CoreMetrics.Timer)]>([:])

    private struct RequestLabels: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        let buckets: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                   .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                   .seconds(2.5), .seconds(5), .seconds(10)]
        factory.defaultDurationHistogramBuckets = buckets
        self.factory = factory
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> String { registry.emitToString() }

    // MARK: HTTP server

    /// `route` is the matched route template (never the raw path, which may hold a phone number).
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let labels = RequestLabels(route: route, method: method, status: status)
        let (counter, timer) = requestHandles.withLock { handles in
            if let found = handles[labels] { return found }
            let dimensions = [("route", route), ("method", method), ("status", String(status))]
            let made = (CoreMetrics.Counter(label: "http_server_requests_total", dimensions: dimensions, factory: factory),
                        CoreMetrics.Timer(label: "http_server_request_duration_seconds", dimensions: dimensions, factory: factory))
            handles[labels] = made
            return made
        }
        counter.increment()
        timer.recordNanoseconds(duration.nanoseconds)
    }

    /// Numbers SENS confirmed registered or removed.
    func recordWritten(operation: String, count: Int) {
        guard count > 0 else { return }
        CoreMetrics.Counter(label: "sens_gateway_numbers_written_total", dimensions: [("operation", operation)], factory: factory)
            .increment(by: count)
    }

    // MARK: ResilienceMetrics

    public func recordAttempt(operation: String, outcome: String, duration: Duration) {
        let dimensions = [("operation", operation), ("outcome", outcome)]
        CoreMetrics.Counter(label: "sens_upstream_calls_total", dimensions: dimensions, factory: factory).increment()
        CoreMetrics.Timer(label: "sens_upstream_call_duration_seconds", dimensions: dimensions, factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    public func recordRetry(operation: String) {
        CoreMetrics.Counter(label: "sens_upstream_retries_total", dimensions: [("operation", operation)], factory: factory).increment()
    }

    public func recordRejection(operation: String, reason: String) {
        CoreMetrics.Counter(label: "sens_upstream_rejections_total", dimensions: [("operation", operation), ("reason", reason)], factory: factory)
            .increment()
    }

    /// 0 closed, 1 half-open, 2 open.
    public func recordBreakerState(_ state: CircuitBreaker.State) {
        let value: Double = switch state {
        case .closed: 0
        case .halfOpen: 1
        case .open: 2
        }
        CoreMetrics.Gauge(label: "sens_circuit_breaker_state", factory: factory).record(value)
    }

    // MARK: CacheMetrics

    public func recordHit(cache: String) { cacheCounter("cache_hits_total", cache).increment() }
    public func recordMiss(cache: String) { cacheCounter("cache_misses_total", cache).increment() }
    public func recordStale(cache: String) { cacheCounter("cache_stale_total", cache).increment() }
    public func recordEvictions(cache: String, count: Int) { cacheCounter("cache_evictions_total", cache).increment(by: count) }

    public func recordEntries(cache: String, count: Int) {
        CoreMetrics.Gauge(label: "cache_entries", dimensions: [("cache", cache)], factory: factory).record(count)
    }

    private func cacheCounter(_ label: String, _ cache: String) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: label, dimensions: [("cache", cache)], factory: factory)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
