import Synchronization

/// Hooks through which the caches report what they do; the operations work exports them as metrics.
public protocol CacheMetrics: Sendable {
    func recordHit(cache: String)
    func recordMiss(cache: String)
    func recordStale(cache: String)
    func recordEvictions(cache: String, count: Int)
    func recordEntries(cache: String, count: Int)
}

/// Counts in memory; what tests read, and a ready source for an exporter.
public final class CacheStatistics: CacheMetrics {
    public struct Counts: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        public var stale = 0
        public var evictions = 0
        public var entries = 0

        public init(hits: Int = 0, misses: Int = 0, stale: Int = 0, evictions: Int = 0, entries: Int = 0) {
            self.hits = hits
            self.misses = misses
            self.stale = stale
            self.evictions = evictions
            self.entries = entries
        }
    }

    private let counts = Mutex<[String: Counts]>([:])

    public init() {}

    public func snapshot(_ cache: String) -> Counts { counts.withLock { $0[cache] ?? Counts() } }

    public func recordHit(cache: String) { counts.withLock { $0[cache, default: Counts()].hits += 1 } }
    public func recordMiss(cache: String) { counts.withLock { $0[cache, default: Counts()].misses += 1 } }
    public func recordStale(cache: String) { counts.withLock { $0[cache, default: Counts()].stale += 1 } }
    public func recordEvictions(cache: String, count: Int) {
        counts.withLock { $0[cache, default: Counts()].evictions += count }
    }
    public func recordEntries(cache: String, count: Int) {
        counts.withLock { $0[cache, default: Counts()].entries = count }
    }
}
