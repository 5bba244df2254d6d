import SENSClient
import SENSCore

/// The opt-out directory of one SENS SMS service: deduplicates numbers, writes them in calls of at most 1,000,
/// one after another, stopping at the first failure, and reads through SENS's list.
public struct SENSOptOutDirectory: OptOutDirectory {
    let sens: any SENSUnsubscribes
    let chunkSize: Int

    public init(sens: any SENSUnsubscribes, chunkSize: Int = SENSLimits.maxItemsPerCall) {
        precondition((1...SENSLimits.maxItemsPerCall).contains(chunkSize))
        self.sens = sens
        self.chunkSize = chunkSize
    }

    public func register(_ numbers: [PhoneNumber]) async -> WriteOutcome {
        await write(numbers) { chunk throws(SENSError) in try await sens.register(chunk).map(OptOut.init) }
    }

    public func remove(_ numbers: [PhoneNumber]) async -> WriteOutcome {
        await write(numbers) { chunk throws(SENSError) in
            try await sens.delete(chunk)
            return []
        }
    }

    /// SENS has no "get one": a list filtered by the number, one record at most.
    public func check(_ number: PhoneNumber, refresh: Bool) async throws(OptOutError) -> Answer<OptOut?> {
        let digits = number.digits
        do {
            let records = try await sens.list(SENSListQuery(clientTelNo: digits, pageSize: 1))
            return Answer(value: records.first { $0.phoneNumber == digits }.map(OptOut.init), origin: .fetched, ageSeconds: 0)
        } catch {
            throw OptOutError(error)
        }
    }

    public func list(_ query: OptOutQuery, refresh: Bool) async throws(OptOutError) -> Answer<[OptOut]> {
        let sensQuery = SENSListQuery(clientTelNo: query.phoneNumber?.digits, pageSize: query.pageSize, pageIndex: query.page,
                                      startTime: query.fromMilliseconds, endTime: query.toMilliseconds.map { max($0, 0) })
        do {
            return Answer(value: try await sens.list(sensQuery).map(OptOut.init), origin: .fetched, ageSeconds: 0)
        } catch {
            throw OptOutError(error)
        }
    }

    /// Sends the distinct numbers chunk by chunk, in order, and stops at the first failure: the failed chunk is
    /// unconfirmed when SENS may have applied it (else not sent), and every later chunk is not sent, so nothing is
    /// silently dropped.
    private func write(_ numbers: [PhoneNumber], _ call: ([String]) async throws(SENSError) -> [OptOut]) async -> WriteOutcome {
        var seen = Set<String>()
        let distinct = numbers.map(\.digits).filter { seen.insert($0).inserted }
        var outcome = WriteOutcome()
        var start = 0
        while start < distinct.count {
            let chunk = Array(distinct[start..<min(start + chunkSize, distinct.count)])
            do {
                outcome.registered += try await call(chunk)
                outcome.done += chunk
            } catch {
                let failure = OptOutError(error)
                outcome.failure = failure
                if failure.mayHaveBeenApplied {
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

extension OptOut {
    init(_ record: SENSRecord) {
        self.init(phoneNumber: record.phoneNumber, registeredAtMilliseconds: record.registeredAtMilliseconds,
                  source: record.source == .ars ? .ars : .manual)
    }
}
