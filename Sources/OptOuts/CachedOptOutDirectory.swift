import SENSCore

/// A directory with two read-through caches in front: checks by number and list pages by exact query. Writes
/// keep them coherent: when a write starts, its numbers' entries are dropped, so a check then asks the source
/// (what it fetches may be answered until the write ends); once the write is done, each number's entry is what
/// the write confirmed (opted out with its record, or not), an unconfirmed number is forgotten, and every list
/// page is dropped. A fetch that started before the write is never stored over what the write confirmed.
public struct CachedOptOutDirectory: OptOutDirectory {
    let base: any OptOutDirectory
    /// The record, or nil for "not opted out", by normalized number.
    let checks: QueryCache<String, OptOut?>
    let lists: QueryCache<OptOutQuery, [OptOut]>

    public init(
        base: any OptOutDirectory,
        settings: CacheSettings,
        clock: any EpochClock = SystemEpochClock(),
        metrics: any CacheMetrics = CacheStatistics()
    ) {
        self.base = base
        self.checks = QueryCache(name: "check", settings: settings, clock: clock, metrics: metrics)
        var listSettings = settings
        listSettings.maxEntries = settings.maxListEntries
        self.lists = QueryCache(name: "list", settings: listSettings, clock: clock, metrics: metrics)
    }

    public func register(_ numbers: [PhoneNumber]) async -> WriteOutcome {
        await write(numbers) { outcome in
            let byNumber = Dictionary(
                outcome.registered.map { ($0.phoneNumber, $0) },
                uniquingKeysWith: { first, _ in first }
            )
            // What was confirmed is cached as opted out; a number confirmed without a record is left to the next check.
            var confirmed: [(key: String, value: OptOut?)] = []
            var forgotten = outcome.unconfirmed
            confirmed.reserveCapacity(outcome.done.count)
            for number in outcome.done {
                if let record = byNumber[number] {
                    confirmed.append((number, record))
                } else {
                    forgotten.append(number)
                }
            }
            checks.apply(set: confirmed, remove: forgotten)
        } perform: {
            await base.register($0)
        }
    }

    public func remove(_ numbers: [PhoneNumber]) async -> WriteOutcome {
        await write(numbers) { outcome in
            checks.apply(set: outcome.done.map { ($0, nil) }, remove: outcome.unconfirmed)
        } perform: {
            await base.remove($0)
        }
    }

    public func check(_ number: PhoneNumber, refresh: Bool) async throws(OptOutError) -> Answer<OptOut?> {
        let base = self.base
        return try await checks.value(for: number.digits, refresh: refresh) { () throws(OptOutError) in
            try await base.check(number, refresh: true).value
        }
    }

    public func list(_ query: OptOutQuery, refresh: Bool) async throws(OptOutError) -> Answer<[OptOut]> {
        let base = self.base
        return try await lists.value(for: query, refresh: refresh) { () throws(OptOutError) in
            try await base.list(query, refresh: true).value
        }
    }

    private func write(
        _ numbers: [PhoneNumber],
        learn: (WriteOutcome) -> Void,
        perform: ([PhoneNumber]) async -> WriteOutcome
    ) async -> WriteOutcome {
        // A check during the write asks the source instead of answering from before it.
        checks.apply(set: [], remove: numbers.map(\.digits))
        lists.removeAll()
        let outcome = await perform(numbers)
        learn(outcome)
        lists.removeAll()
        return outcome
    }
}
