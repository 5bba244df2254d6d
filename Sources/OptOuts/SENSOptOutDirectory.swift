import SENSClient
import SENSCore

/// The opt-out directory of one SENS SMS service: deduplicates numbers, writes them in calls of at most 1,000,
/// one after another, stopping at the first failure (each call's body is written while the one before it is in
/// flight), and reads through SENS's list.
public struct SENSOptOutDirectory: OptOutDirectory {
    let sens: any SENSUnsubscribes
    let chunkSize: Int

    public init(sens: any SENSUnsubscribes, chunkSize: Int = SENSLimits.maxItemsPerCall) {
        precondition((1...SENSLimits.maxItemsPerCall).contains(chunkSize))
        self.sens = sens
        self.chunkSize = chunkSize
    }

    public func register(_ numbers: [PhoneNumber]) async -> WriteOutcome {
        await write(numbers) { targets throws(SENSError) in try await sens.register(targets).map(OptOut.init) }
    }

    public func remove(_ numbers: [PhoneNumber]) async -> WriteOutcome {
        await write(numbers) { targets throws(SENSError) in
            try await sens.delete(targets)
            return []
        }
    }

    /// SENS has no "get one": a list filtered by the number, one record at most.
    public func check(_ number: PhoneNumber, refresh: Bool) async throws(OptOutError) -> Answer<OptOut?> {
        let digits = number.digits
        do {
            let records = try await sens.list(SENSListQuery(clientTelNo: digits, pageSize: 1))
            return Answer(
                value: records.first { $0.phoneNumber == digits }.map(OptOut.init),
                origin: .fetched,
                ageSeconds: 0
            )
        } catch {
            throw OptOutError(error)
        }
    }

    public func list(_ query: OptOutQuery, refresh: Bool) async throws(OptOutError) -> Answer<[OptOut]> {
        let sensQuery = SENSListQuery(
            clientTelNo: query.sensNumber ?? query.phoneNumber?.digits,
            pageSize: query.pageSize,
            pageIndex: query.page,
            startTime: query.fromMilliseconds,
            endTime: query.toMilliseconds.map { max($0, 0) }
        )
        do {
            return Answer(value: try await sens.list(sensQuery).map(OptOut.init), origin: .fetched, ageSeconds: 0)
        } catch {
            throw OptOutError(error)
        }
    }

    /// Sends the distinct numbers chunk by chunk, in order, and stops at the first failure: the failed chunk is
    /// unconfirmed when SENS may have applied it (else not sent), and every later chunk is not sent, so nothing is
    /// silently dropped. The next chunk's body is written while the current call is in flight.
    private func write(
        _ numbers: [PhoneNumber],
        _ call: (SENSTargets) async throws(SENSError) -> [OptOut]
    ) async -> WriteOutcome {
        var seen = Set<String>(minimumCapacity: numbers.count)
        let distinct = numbers.map(\.digits).filter { seen.insert($0).inserted }
        let chunks = stride(from: 0, to: distinct.count, by: chunkSize).map {
            Array(distinct[$0..<min($0 + chunkSize, distinct.count)])
        }
        var outcome = WriteOutcome()
        guard var targets = chunks.first.map(SENSTargets.init) else { return outcome }
        for position in chunks.indices {
            async let upcoming = position + 1 < chunks.count ? SENSTargets(chunks[position + 1]) : nil
            do {
                outcome.registered += try await call(targets)
                outcome.done += targets.numbers
            } catch {
                let failure = OptOutError(error)
                outcome.failure = failure
                let later = chunks[(position + 1)...].joined()
                if failure.mayHaveBeenApplied {
                    outcome.unconfirmed = targets.numbers
                    outcome.notSent = Array(later)
                } else {
                    outcome.notSent = targets.numbers + later
                }
                return outcome
            }
            guard let next = await upcoming else { break }
            targets = next
        }
        return outcome
    }
}

extension OptOut {
    init(_ record: SENSRecord) {
        self.init(
            phoneNumber: record.phoneNumber,
            registeredAtMilliseconds: record.registeredAtMilliseconds,
            source: record.source == .ars ? .ars : .manual
        )
    }
}
