import SENSCore

/// What a register or remove achieved: the numbers SENS accepted, the ones it did not, and why not.
public struct WriteOutcome: Sendable, Equatable {
    /// Numbers written, in the order first given.
    public var done: [String] = []
    /// Numbers not written because a call failed (that call's and every later one's).
    public var notDone: [String] = []
    /// SENS's records of registered numbers (register only).
    public var records: [SENSUnsubscribeRecord] = []
    public var failure: SENSError?
}

/// The opt-out operations over SENS: deduplicates valid numbers and writes them in calls of at most 1,000.
public struct OptOutService: Sendable {
    let sens: any SENSClient
    let chunkSize: Int

    public init(sens: any SENSClient, chunkSize: Int = SENSLimits.maxItemsPerCall) {
        precondition((1...SENSLimits.maxItemsPerCall).contains(chunkSize))
        self.sens = sens
        self.chunkSize = chunkSize
    }

    public func register(_ numbers: [PhoneNumber]) async -> WriteOutcome {
        await write(numbers) { chunk throws(SENSError) in try await sens.register(chunk) }
    }

    public func remove(_ numbers: [PhoneNumber]) async -> WriteOutcome {
        await write(numbers) { chunk throws(SENSError) in
            try await sens.delete(chunk)
            return []
        }
    }

    public func list(_ query: SENSListQuery) async throws(SENSError) -> [SENSUnsubscribeRecord] {
        try await sens.list(query)
    }

    /// The number's record when it has opted out, nil when it has not.
    public func check(_ number: PhoneNumber) async throws(SENSError) -> SENSUnsubscribeRecord? {
        let records = try await sens.list(SENSListQuery(clientTelNo: number.digits, pageSize: 1))
        return records.first { $0.clientTelNo == number.digits }
    }

    /// Sends the distinct numbers chunk by chunk, in order, and stops at the first failure: the failed chunk and
    /// all after it are reported as not done, so nothing is silently dropped.
    private func write(
        _ numbers: [PhoneNumber],
        _ call: ([String]) async throws(SENSError) -> [SENSUnsubscribeRecord]
    ) async -> WriteOutcome {
        var seen = Set<String>()
        let distinct = numbers.map(\.digits).filter { seen.insert($0).inserted }
        var outcome = WriteOutcome()
        var start = 0
        while start < distinct.count {
            let chunk = Array(distinct[start..<min(start + chunkSize, distinct.count)])
            do {
                outcome.records += try await call(chunk)
                outcome.done += chunk
            } catch {
                outcome.failure = error
                outcome.notDone = Array(distinct[start...])
                return outcome
            }
            start += chunkSize
        }
        return outcome
    }
}
