import SENSCore
import Synchronization

public struct CacheSettings: Sendable, Equatable {
    /// How long an entry is served without asking SENS; 0 turns caching off.
    public var ttlMilliseconds: Int64
    /// How old an entry may be and still be served when SENS fails.
    public var staleIfErrorMilliseconds: Int64
    /// Entries of the check cache (one per number).
    public var maxEntries: Int
    /// Entries of the list cache (one per distinct query); every write empties it.
    public var maxListEntries: Int

    /// The defaults are the settings table's (`CacheSettings.defaults`, in the application).
    public init(ttlMilliseconds: Int64, staleIfErrorMilliseconds: Int64, maxEntries: Int, maxListEntries: Int) {
        self.ttlMilliseconds = ttlMilliseconds
        self.staleIfErrorMilliseconds = staleIfErrorMilliseconds
        self.maxEntries = maxEntries
        self.maxListEntries = maxListEntries
    }

    public static let disabled = CacheSettings(
        ttlMilliseconds: 0,
        staleIfErrorMilliseconds: 0,
        maxEntries: 1,
        maxListEntries: 1
    )
    public var isEnabled: Bool { ttlMilliseconds > 0 }
}

/// A read-through cache of a directory's answers: TTL and LRU bounded, single-flight (concurrent identical misses share
/// one upstream call and its result or error), stale-if-error, and kept coherent by writes through `apply`.
public final class QueryCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var fetchedAt: Int64
    }

    private struct Flight {
        var id: UInt64
        var task: Task<Value, any Error>
    }

    private enum Plan {
        case hit(Entry)
        case wait(Task<Value, any Error>)
    }

    private struct State {
        var storage: LRUStorage<Key, Entry>
        var flights: [Key: Flight] = [:]
        var nextFlightID: UInt64 = 0
    }

    let name: String
    let settings: CacheSettings
    private let clock: any EpochClock
    private let metrics: any CacheMetrics
    private let state: Mutex<State>

    public init(name: String, settings: CacheSettings, clock: any EpochClock, metrics: any CacheMetrics) {
        self.name = name
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.state = Mutex(State(storage: LRUStorage(capacity: max(1, settings.maxEntries))))
    }

    /// The value for `key`: a fresh entry, else the shared result of one upstream `fetch`; when that fails, an
    /// entry younger than the stale-if-error bound. `refresh` skips the fresh entry (and any fetch under way).
    public func value(
        for key: Key,
        refresh: Bool = false,
        fetch: @escaping @Sendable () async throws(OptOutError) -> Value
    ) async throws(OptOutError) -> Answer<Value> {
        guard settings.isEnabled else {
            metrics.recordMiss(cache: name)
            return Answer(value: try await fetch(), origin: .fetched, ageSeconds: 0)
        }
        let now = clock.nowMilliseconds()
        let plan: Plan = state.withLock { state in
            if !refresh, let entry = state.storage.get(key), now - entry.fetchedAt < settings.ttlMilliseconds {
                return .hit(entry)
            }
            if !refresh, let flight = state.flights[key] { return .wait(flight.task) }
            state.nextFlightID += 1
            let id = state.nextFlightID
            // The fetch runs on its own, so that a caller that goes away does not cancel it for the others.
            let task = Task { [self] () async throws -> Value in
                do {
                    let value = try await fetch()
                    complete(key: key, flightID: id, storing: Entry(value: value, fetchedAt: now))
                    return value
                } catch {
                    complete(key: key, flightID: id, storing: nil)
                    throw error
                }
            }
            state.flights[key] = Flight(id: id, task: task)
            return .wait(task)
        }
        switch plan {
        case .hit(let entry):
            metrics.recordHit(cache: name)
            return Answer(value: entry.value, origin: .cached, ageSeconds: age(entry, now))
        case .wait(let task):
            do {
                let value = try await task.value
                metrics.recordMiss(cache: name)
                return Answer(value: value, origin: .fetched, ageSeconds: 0)
            } catch {
                let failure = error as? OptOutError ?? OptOutError(.unavailable, "the call to the source was cancelled")
                let now = clock.nowMilliseconds()
                if let entry = state.withLock({ $0.storage.peek(key) }),
                    now - entry.fetchedAt < settings.staleIfErrorMilliseconds
                {
                    metrics.recordStale(cache: name)
                    return Answer(value: entry.value, origin: .stale, ageSeconds: age(entry, now))
                }
                throw failure
            }
        }
    }

    /// Records what a write made true (`set`) and forgets what it made unknown (`remove`), before the write is
    /// answered. Fetches under way for those keys are detached: they answer their callers but store nothing.
    public func apply(set: [(key: Key, value: Value)], remove: [Key] = []) {
        guard settings.isEnabled else { return }
        let now = clock.nowMilliseconds()
        let (evicted, count) = state.withLock { state in
            var evicted = 0
            // Fetches under way are few: an empty table is not asked about each of a write's 10,000 numbers.
            let detaches = !state.flights.isEmpty
            for key in remove {
                state.storage.remove(key)
                if detaches { state.flights[key] = nil }
            }
            for (key, value) in set {
                evicted += state.storage.set(key, Entry(value: value, fetchedAt: now))
                if detaches { state.flights[key] = nil }
            }
            return (evicted, state.storage.count)
        }
        report(evicted: evicted, count: count)
    }

    /// Forgets every entry and detaches every fetch under way.
    public func removeAll() {
        guard settings.isEnabled else { return }
        state.withLock { state in
            state.storage.removeAll()
            state.flights.removeAll()
        }
        report(evicted: 0, count: 0)
    }

    public var count: Int { state.withLock { $0.storage.count } }

    /// Stores a fetch's result only if that fetch is still the current one for its key: a write or a refresh
    /// since it started makes its answer too old to keep.
    private func complete(key: Key, flightID: UInt64, storing entry: Entry?) {
        let outcome: (evicted: Int, count: Int)? = state.withLock { state in
            guard state.flights[key]?.id == flightID else { return nil }
            state.flights[key] = nil
            guard let entry else { return nil }
            let evicted = state.storage.set(key, entry)
            return (evicted, state.storage.count)
        }
        if let outcome { report(evicted: outcome.evicted, count: outcome.count) }
    }

    private func report(evicted: Int, count: Int) {
        if evicted > 0 { metrics.recordEvictions(cache: name, count: evicted) }
        metrics.recordEntries(cache: name, count: count)
    }

    private func age(_ entry: Entry, _ now: Int64) -> Int {
        Int(max(0, now - entry.fetchedAt) / 1000)
    }
}
