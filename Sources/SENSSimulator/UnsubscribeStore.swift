import SENSCore
import Synchronization

/// One opt-out as the simulator keeps it.
public struct StoredUnsubscribe: Sendable, Equatable {
    public var clientTelNo: String
    public var registerType: SENSRegisterType
    public var registeredAtMilliseconds: Int64

    public init(clientTelNo: String, registerType: SENSRegisterType, registeredAtMilliseconds: Int64) {
        self.clientTelNo = clientTelNo
        self.registerType = registerType
        self.registeredAtMilliseconds = registeredAtMilliseconds
    }
}

/// The opt-out list of one SMS service, in memory and safe to use from any thread.
public final class UnsubscribeStore: Sendable {
    private let records = Mutex<[String: StoredUnsubscribe]>([:])

    public init() {}

    /// Registers each number once; a number already on the list keeps its original record, as re-registering is
    /// harmless. Returns the records of `numbers` in their order, without repeats.
    @discardableResult
    public func register(_ numbers: [String], type: SENSRegisterType, at milliseconds: Int64) -> [StoredUnsubscribe] {
        records.withLock { records in
            var seen = Set<String>()
            return numbers.compactMap { number in
                guard seen.insert(number).inserted else { return nil }
                if let existing = records[number] { return existing }
                let record = StoredUnsubscribe(clientTelNo: number, registerType: type, registeredAtMilliseconds: milliseconds)
                records[number] = record
                return record
            }
        }
    }

    /// One page of the list, newest registration first (ties by number), filtered as asked.
    public func list(_ query: SENSListQuery) -> [StoredUnsubscribe] {
        let matching = records.withLock { records in
            if let number = query.clientTelNo { return records[number].map { [$0] } ?? [] }
            return Array(records.values)
        }
        .filter { record in
            (query.startTime.map { record.registeredAtMilliseconds >= $0 } ?? true)
                && (query.endTime.map { record.registeredAtMilliseconds <= $0 } ?? true)
        }
        .sorted { ($0.registeredAtMilliseconds, $1.clientTelNo) > ($1.registeredAtMilliseconds, $0.clientTelNo) }
        let start = query.pageIndex.multipliedReportingOverflow(by: query.pageSize)
        guard !start.overflow, start.partialValue < matching.count else { return [] }
        return Array(matching[start.partialValue..<min(start.partialValue + query.pageSize, matching.count)])
    }

    /// Removes the numbers; ones not on the list are ignored. Returns how many were removed.
    @discardableResult
    public func delete(_ numbers: [String]) -> Int {
        records.withLock { records in numbers.reduce(0) { removed, number in removed + (records.removeValue(forKey: number) == nil ? 0 : 1) } }
    }

    public var count: Int { records.withLock { $0.count } }

    public func contains(_ number: String) -> Bool { records.withLock { $0[number] != nil } }
}
