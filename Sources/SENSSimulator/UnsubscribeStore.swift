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

/// The opt-out list of one SMS service, in memory and safe to use from any thread. Besides the records by
/// number, it keeps them sorted in list order (newest registration first, ties by number), so that a page of a
/// time window is found by binary search at any size: a million records seed in seconds and list in
/// microseconds a page.
public final class UnsubscribeStore: Sendable {
    private struct State {
        var records: [String: StoredUnsubscribe] = [:]
        /// List order: registration time descending, then number ascending.
        var ordered: [StoredUnsubscribe] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Registers each number once; a number already on the list keeps its original record, as re-registering is
    /// harmless. Returns the records of `numbers` in their order, without repeats.
    @discardableResult
    public func register(_ numbers: [String], type: SENSRegisterType, at milliseconds: Int64) -> [StoredUnsubscribe] {
        state.withLock { state in
            var seen = Set<String>()
            var added: [StoredUnsubscribe] = []
            let answer: [StoredUnsubscribe] = numbers.compactMap { number in
                guard seen.insert(number).inserted else { return nil }
                if let existing = state.records[number] { return existing }
                let record = StoredUnsubscribe(
                    clientTelNo: number,
                    registerType: type,
                    registeredAtMilliseconds: milliseconds
                )
                state.records[number] = record
                added.append(record)
                return record
            }
            Self.insert(added, into: &state.ordered)
            return answer
        }
    }

    /// Adds records as given (a seed), keeping any number already on the list as it is. Returns how many were added.
    @discardableResult
    public func seed(_ records: [StoredUnsubscribe]) -> Int {
        state.withLock { state in
            var added: [StoredUnsubscribe] = []
            added.reserveCapacity(records.count)
            for record in records where state.records[record.clientTelNo] == nil {
                state.records[record.clientTelNo] = record
                added.append(record)
            }
            Self.insert(added, into: &state.ordered)
            return added.count
        }
    }

    /// One page of the list, newest registration first (ties by number), filtered as asked.
    public func list(_ query: SENSListQuery) -> [StoredUnsubscribe] {
        state.withLock { state in
            if let number = query.clientTelNo {
                guard let record = state.records[number], Self.inWindow(record, query), query.pageIndex == 0 else {
                    return []
                }
                return [record]
            }
            // Descending by time: records at or before endTime start at the first index whose time <= endTime;
            // those at or after startTime end before the first index whose time < startTime.
            let ordered = state.ordered
            let lower =
                query.endTime.map { end in Self.firstIndex(in: ordered) { $0.registeredAtMilliseconds <= end } } ?? 0
            let upper =
                query.startTime.map { start in Self.firstIndex(in: ordered) { $0.registeredAtMilliseconds < start } }
                ?? ordered.count
            let start = query.pageIndex.multipliedReportingOverflow(by: query.pageSize)
            guard !start.overflow, start.partialValue < upper - lower else { return [] }
            let first = lower + start.partialValue
            return Array(ordered[first..<min(first + query.pageSize, upper)])
        }
    }

    /// Removes the numbers; ones not on the list are ignored. Returns how many were removed.
    @discardableResult
    public func delete(_ numbers: [String]) -> Int {
        state.withLock { state in
            var removed = Set<String>()
            for number in numbers where state.records.removeValue(forKey: number) != nil { removed.insert(number) }
            if !removed.isEmpty { state.ordered.removeAll { removed.contains($0.clientTelNo) } }
            return removed.count
        }
    }

    public var count: Int { state.withLock { $0.records.count } }

    /// Every record, in list order: the oracle a model test holds the gateway's mirror to.
    public var all: [StoredUnsubscribe] { state.withLock { $0.ordered } }

    public func contains(_ number: String) -> Bool { state.withLock { $0.records[number] != nil } }

    private static func inWindow(_ record: StoredUnsubscribe, _ query: SENSListQuery) -> Bool {
        (query.startTime.map { record.registeredAtMilliseconds >= $0 } ?? true)
            && (query.endTime.map { record.registeredAtMilliseconds <= $0 } ?? true)
    }

    private static func precedes(_ a: StoredUnsubscribe, _ b: StoredUnsubscribe) -> Bool {
        (a.registeredAtMilliseconds, b.clientTelNo) > (b.registeredAtMilliseconds, a.clientTelNo)
    }

    /// Merges sorted new records into the ordered list: a few are inserted by binary search, many are merged.
    private static func insert(_ added: [StoredUnsubscribe], into ordered: inout [StoredUnsubscribe]) {
        guard !added.isEmpty else { return }
        let sorted = added.sorted(by: precedes)
        if sorted.count <= 16 {
            for record in sorted { ordered.insert(record, at: firstIndex(in: ordered) { !precedes($0, record) }) }
            return
        }
        var merged: [StoredUnsubscribe] = []
        merged.reserveCapacity(ordered.count + sorted.count)
        var i = 0
        var j = 0
        while i < ordered.count || j < sorted.count {
            if j == sorted.count || (i < ordered.count && precedes(ordered[i], sorted[j])) {
                merged.append(ordered[i])
                i += 1
            } else {
                merged.append(sorted[j])
                j += 1
            }
        }
        ordered = merged
    }

    /// The first index whose element satisfies `predicate`, for a predicate false then true along the array.
    private static func firstIndex(in array: [StoredUnsubscribe], where predicate: (StoredUnsubscribe) -> Bool) -> Int {
        var low = 0
        var high = array.count
        while low < high {
            let middle = (low + high) / 2
            if predicate(array[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
