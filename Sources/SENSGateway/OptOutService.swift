import SENSCore

/// What a register or remove achieved. Every distinct number is in exactly one of the three lists.
public struct WriteOutcome: Sendable, Equatable {
    /// Numbers SENS confirmed, in the order first given.
    public var done: [String] = []
    /// Numbers whose call went out but whose answer was lost (timed out, connection dropped, SENS failed):
    /// SENS may or may not have applied them.
    public var unconfirmed: [String] = []
    /// Numbers SENS has not applied: their call was refused or never made (it or an earlier one failed).
    public var notSent: [String] = []
    /// SENS's records of registered numbers (register only).
    public var records: [OptOutRecord] = []
    public var failure: SENSError?
}

/// The opt-out operations over SENS: deduplicates valid numbers, writes them in calls of at most 1,000, and
/// answers reads through two caches that every write updates before it is answered.
public struct OptOutService: Sendable {
    let sens: any SENSClient
    let chunkSize: Int
    /// Check answers by normalized number: the record, or nil for "not opted out".
    let checks: QueryCache<String, OptOutRecord?>
    /// List pages by their exact SENS query.
    let lists: QueryCache<SENSListQuery, [OptOutRecord]>

    public init(
        sens: any SENSClient,
        cache: CacheSettings = .disabled,
        clock: any EpochClock = SystemEpochClock(),
        metrics: any CacheMetrics = CacheStatistics(),
        chunkSize: Int = SENSLimits.maxItemsPerCall
    ) {
        precondition((1...SENSLimits.maxItemsPerCall).contains(chunkSize))
        self.sens = sens
        self.chunkSize = chunkSize
        self.checks = QueryCache(name: "check", settings: cache, clock: clock, metrics: metrics)
        var listSettings = cache
        listSettings.maxEntries = cache.maxListEntries
        self.lists = QueryCache(name: "list", settings: listSettings, clock: clock, metrics: metrics)
    }

    public func register(_ numbers: [PhoneNumber]) async -> WriteOutcome {
        await write(numbers) { chunk throws(SENSError) in
            let records = try await sens.register(chunk)
            let byNumber = Dictionary(records.map { ($0.phoneNumber, $0) }, uniquingKeysWith: { first, _ in first })
            // What SENS confirmed is cached as opted out; a number it did not echo is left to the next check.
            checks.apply(set: chunk.compactMap { number in byNumber[number].map { (number, Optional($0)) } },
                         remove: chunk.filter { byNumber[$0] == nil })
            return records
        }
    }

    public func remove(_ numbers: [PhoneNumber]) async -> WriteOutcome {
        await write(numbers) { chunk throws(SENSError) in
            try await sens.delete(chunk)
            checks.apply(set: chunk.map { ($0, nil) })
            return []
        }
    }

    public func list(_ query: SENSListQuery, refresh: Bool = false) async throws(SENSError) -> CachedAnswer<[OptOutRecord]> {
        try await lists.value(for: query, refresh: refresh) { () throws(SENSError) in try await sens.list(query) }
    }

    /// The number's record when it has opted out, nil when it has not.
    public func check(_ number: PhoneNumber, refresh: Bool = false) async throws(SENSError) -> CachedAnswer<OptOutRecord?> {
        let digits = number.digits
        return try await checks.value(for: digits, refresh: refresh) { () throws(SENSError) in
            let records = try await sens.list(SENSListQuery(clientTelNo: digits, pageSize: 1))
            return records.first { $0.phoneNumber == digits }
        }
    }

    /// Sends the distinct numbers chunk by chunk, in order, and stops at the first failure: the failed chunk is
    /// unconfirmed when SENS may have applied it (else not sent), and every later chunk is not sent, so nothing is
    /// silently dropped. The caches learn of each chunk's outcome before the next one is sent; a failed chunk's
    /// numbers are forgotten, as SENS may or may not have applied it.
    private func write(
        _ numbers: [PhoneNumber],
        _ call: ([String]) async throws(SENSError) -> [OptOutRecord]
    ) async -> WriteOutcome {
        var seen = Set<String>()
        let distinct = numbers.map(\.digits).filter { seen.insert($0).inserted }
        var outcome = WriteOutcome()
        var start = 0
        while start < distinct.count {
            let chunk = Array(distinct[start..<min(start + chunkSize, distinct.count)])
            defer { lists.removeAll() }
            do {
                outcome.records += try await call(chunk)
                outcome.done += chunk
            } catch {
                checks.apply(set: [], remove: chunk)
                outcome.failure = error
                if error.mayHaveBeenApplied {
                    outcome.unconfirmed = chunk
                    outcome.notSent = Array(distinct[(start + chunk.count)...])
                } else {
                    outcome.notSent = Array(distinct[start...])
                }
                return outcome
            }
            start += chunkSize
        }
        return outcome
    }
}
