import CoreMetrics
import GatewayHTTP
import OptOutMirror
import OptOuts
import Prometheus
import Synchronization

/// The gateway's metrics, kept in a Prometheus registry that is passed in (no global metrics system), and served
/// at `/metrics` in the Prometheus text format. The HTTP layer reports to it, and each service's caches and
/// resilience through `service(_:)`, which labels them with the service's name.
public final class GatewayMetrics: GatewayHTTPMetrics {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    /// Request metric handles by label set: looked up once, not in the registry on every request.
    private let requestHandles = Mutex<[RequestLabels: (CoreMetrics.Counter, CoreMetrics.Timer)]>([:])
    /// The other handles, by name and label values, for the same reason: making a handle goes through the
    /// registry's lock and name checks, and cache hits and SENS calls record on every request.
    private let counters = Mutex<[HandleKey: CoreMetrics.Counter]>([:])
    private let timers = Mutex<[HandleKey: CoreMetrics.Timer]>([:])
    private let gauges = Mutex<[HandleKey: CoreMetrics.Gauge]>([:])

    private struct HandleKey: Hashable {
        var label: String
        var dimensions: [String]

        init(_ label: String, _ dimensions: [(String, String)]) {
            self.label = label
            self.dimensions = dimensions.flatMap { [$0.0, $0.1] }
        }
    }

    private struct RequestLabels: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        let buckets: [Duration] = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2.5), .seconds(5), .seconds(10),
        ]
        factory.defaultDurationHistogramBuckets = buckets
        self.factory = factory
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> String { registry.emitToString() }

    // MARK: HTTP server

    /// `route` is the matched route template (never the raw path, which may hold a phone number).
    public func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let (counter, timer) = handle(in: requestHandles, RequestLabels(route: route, method: method, status: status)) {
            let dimensions = [("route", route), ("method", method), ("status", String(status))]
            return (
                CoreMetrics.Counter(label: "http_server_requests_total", dimensions: dimensions, factory: factory),
                CoreMetrics.Timer(
                    label: "http_server_request_duration_seconds",
                    dimensions: dimensions,
                    factory: factory
                )
            )
        }
        counter.increment()
        timer.recordNanoseconds(duration.nanoseconds)
    }

    /// Numbers SENS confirmed registered or removed.
    public func recordWritten(service: String, operation: String, count: Int) {
        guard count > 0 else { return }
        counter("sens_gateway_numbers_written_total", [("service", service), ("operation", operation)]).increment(
            by: count
        )
    }

    /// Request log lines dropped because the log output did not keep up (`BufferedAccessLog`).
    public func recordDroppedLogLines(_ count: Int) {
        counter("access_log_dropped_lines_total", []).increment(by: count)
    }

    /// Where one service's caches and resilience report, labelled `service`.
    public func service(_ name: String) -> ServiceMetrics { ServiceMetrics(metrics: self, service: name) }

    // MARK: Handles

    func counter(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter {
        handle(in: counters, HandleKey(label, dimensions)) {
            CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
        }
    }

    func timer(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Timer {
        handle(in: timers, HandleKey(label, dimensions)) {
            CoreMetrics.Timer(label: label, dimensions: dimensions, factory: factory)
        }
    }

    func gauge(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Gauge {
        handle(in: gauges, HandleKey(label, dimensions)) {
            CoreMetrics.Gauge(label: label, dimensions: dimensions, factory: factory)
        }
    }

    /// The handle under `key`, made and kept on first use.
    private func handle<Key: Hashable & Sendable, Handle: Sendable>(
        in handles: borrowing Mutex<[Key: Handle]>,
        _ key: Key,
        make: () -> Handle
    ) -> Handle {
        handles.withLock { handles in
            if let found = handles[key] { return found }
            let made = make()
            handles[key] = made
            return made
        }
    }
}

/// One service's view of the gateway's metrics: its caches and its resilience, labelled with its name.
public struct ServiceMetrics: CacheMetrics, ResilienceMetrics, MirrorMetrics {
    let metrics: GatewayMetrics
    let service: String

    // MARK: ResilienceMetrics

    public func recordAttempt(operation: String, outcome: String, duration: Duration) {
        let dimensions = [("service", service), ("operation", operation), ("outcome", outcome)]
        metrics.counter("sens_upstream_calls_total", dimensions).increment()
        metrics.timer("sens_upstream_call_duration_seconds", dimensions).recordNanoseconds(duration.nanoseconds)
    }

    public func recordRetry(operation: String) {
        metrics.counter("sens_upstream_retries_total", [("service", service), ("operation", operation)]).increment()
    }

    public func recordRejection(operation: String, reason: String) {
        metrics.counter(
            "sens_upstream_rejections_total",
            [("service", service), ("operation", operation), ("reason", reason)]
        ).increment()
    }

    /// 0 closed, 1 half-open, 2 open.
    public func recordBreakerState(_ state: CircuitBreaker.State) {
        let value: Double =
            switch state {
            case .closed: 0
            case .halfOpen: 1
            case .open: 2
            }
        metrics.gauge("sens_circuit_breaker_state", [("service", service)]).record(value)
    }

    public func recordCredentialsRejected() {
        metrics.counter("sens_credentials_rejected_total", [("service", service)]).increment()
    }

    // MARK: CacheMetrics

    public func recordHit(cache: String) {
        metrics.counter("cache_hits_total", [("service", service), ("cache", cache)]).increment()
    }
    public func recordMiss(cache: String) {
        metrics.counter("cache_misses_total", [("service", service), ("cache", cache)]).increment()
    }
    public func recordStale(cache: String) {
        metrics.counter("cache_stale_total", [("service", service), ("cache", cache)]).increment()
    }
    public func recordEvictions(cache: String, count: Int) {
        metrics.counter("cache_evictions_total", [("service", service), ("cache", cache)]).increment(by: count)
    }
    public func recordEntries(cache: String, count: Int) {
        metrics.gauge("cache_entries", [("service", service), ("cache", cache)]).record(count)
    }
}

extension ServiceMetrics {
    // MARK: MirrorMetrics

    public func recordSync(service _: String, kind: String, outcome: String, duration: Duration, sensCalls: Int) {
        let dimensions = [("service", service), ("kind", kind), ("outcome", outcome)]
        metrics.counter("mirror_syncs_total", dimensions).increment()
        metrics.timer("mirror_sync_duration_seconds", dimensions).recordNanoseconds(duration.nanoseconds)
        metrics.counter("mirror_sync_sens_calls_total", [("service", service), ("kind", kind)]).increment(by: sensCalls)
    }

    public func recordRecords(service _: String, count: Int) {
        metrics.gauge("mirror_records", [("service", service)]).record(count)
    }

    public func recordChanges(service _: String, added: Int, removed: Int) {
        if added > 0 {
            metrics.counter("mirror_changes_total", [("service", service), ("change", "added")]).increment(by: added)
        }
        if removed > 0 {
            metrics.counter("mirror_changes_total", [("service", service), ("change", "removed")]).increment(
                by: removed
            )
        }
    }

    /// -1 before the first successful sync.
    public func recordLag(service _: String, seconds: Double?) {
        metrics.gauge("mirror_staleness_seconds", [("service", service)]).record(seconds ?? -1)
    }

    public func recordVerification(service _: String, report: VerificationReport) {
        let outcome = report.outcome == "ok" ? "ok" : "failed"
        metrics.counter("mirror_verifications_total", [("service", service), ("outcome", outcome)]).increment()
        metrics.timer("mirror_verification_duration_seconds", [("service", service)]).recordNanoseconds(
            report.durationMilliseconds * 1_000_000
        )
        metrics.counter("mirror_verification_buckets_total", [("service", service), ("result", "checked")]).increment(
            by: report.buckets
        )
        metrics.counter("mirror_verification_buckets_total", [("service", service), ("result", "differed")]).increment(
            by: report.bucketsDiffered
        )
        metrics.counter("mirror_verification_found_total", [("service", service), ("change", "added")]).increment(
            by: report.recordsFound
        )
        metrics.counter("mirror_verification_found_total", [("service", service), ("change", "removed")]).increment(
            by: report.removalsFound
        )
        metrics.counter("mirror_sync_sens_calls_total", [("service", service), ("kind", "verification")]).increment(
            by: report.sensCalls
        )
        if outcome == "ok" {
            metrics.gauge("mirror_last_verification_timestamp_seconds", [("service", service)]).record(
                Double(report.startedAt) / 1000
            )
        }
    }

    public func recordInDoubt(service _: String, count: Int) {
        metrics.gauge("mirror_numbers_in_doubt", [("service", service)]).record(count)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
