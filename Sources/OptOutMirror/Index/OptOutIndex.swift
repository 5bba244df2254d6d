import OptOuts
import SENSCore

/// The in-memory opt-out list of one service: records by number for checks and filters, and in registration-time
/// order for list pages, time windows and reconciliation: a hash table of two integers and a sorted array of two
/// more per number, so that millions fit in memory (Benchmarks/README.md).
///
/// Records are keyed by the digits SENS holds (`821012345678`), as SENS keys them, so that the mirror's counts
/// are SENS's; a record in another form than its national number (`NationalNumber`) also answers for that number.
///
/// The time order is kept lazily, so that a sync that reads the list newest first, or a removal, never pays for
/// moving the whole array: new entries wait in `pending` and entries whose number has moved or gone stay in
/// `ordered` until the next list page merges and compacts them (`mergePending`, `compact`).
struct OptOutIndex: Sendable {
    /// The record of each number, packed: registration time (epoch ms) shifted left once, the low bit set for ARS.
    private var byNumber: [PhoneKey: UInt64] = [:]
    /// Ascending by time, then number. Entries are live only while `byNumber` still holds their time.
    private var ordered: [TimedKey] = []
    /// Entries not yet merged into `ordered`, in any order.
    private var pending: [TimedKey] = []
    /// How many entries of `ordered` and `pending` may be dead or repeated.
    private var staleEntries = 0
    /// Records held in another form than their national number: the national number of each, and the forms held
    /// of each such national number. Both are empty for a list of national numbers only.
    private var nationalOf: [PhoneKey: PhoneKey] = [:]
    private var otherForms: [PhoneKey: [PhoneKey]] = [:]

    struct TimedKey: Comparable, Sendable {
        var time: Int64
        var key: PhoneKey

        static func < (lhs: TimedKey, rhs: TimedKey) -> Bool { (lhs.time, lhs.key) < (rhs.time, rhs.key) }
    }

    var count: Int { byNumber.count }

    /// The record SENS holds under exactly these digits.
    func record(for key: PhoneKey) -> MirrorRecord? {
        byNumber[key].map { Self.unpack($0, key: key) }
    }

    /// The opt-out of a national number (`01012345678`), in whatever form SENS holds it: its own first, else
    /// another (`821012345678`). The record carries the national number.
    func optOut(of national: PhoneKey) -> MirrorRecord? {
        if let packed = byNumber[national] { return Self.unpack(packed, key: national) }
        guard !otherForms.isEmpty, let form = otherForms[national]?.first, let packed = byNumber[form] else {
            return nil
        }
        return Self.unpack(packed, key: national)
    }

    /// Whether SENS holds the national number in another form than its own.
    func holdsOtherForm(of national: PhoneKey) -> Bool { !otherForms.isEmpty && otherForms[national] != nil }

    /// The number a record held under `key` answers for: its national number, or the digits as held when they
    /// are no Korean number.
    func nationalNumber(of key: PhoneKey) -> PhoneKey { nationalOf.isEmpty ? key : nationalOf[key] ?? key }

    static func unpack(_ packed: UInt64, key: PhoneKey) -> MirrorRecord {
        MirrorRecord(
            key: key,
            registeredAtMilliseconds: Int64(bitPattern: packed >> 1),
            source: packed & 1 == 1 ? .ars : .manual
        )
    }

    private static func pack(_ record: MirrorRecord) -> UInt64 {
        UInt64(bitPattern: record.registeredAtMilliseconds) << 1 | (record.source == .ars ? 1 : 0)
    }

    /// Whether the index already holds exactly this record.
    func holds(_ record: MirrorRecord) -> Bool { byNumber[record.key] == Self.pack(record) }

    /// Adds or updates the record; false when its digits are no Korean number (it is kept all the same: SENS
    /// counts it, and so must the mirror).
    @discardableResult
    mutating func upsert(_ record: MirrorRecord) -> Bool {
        let packed = Self.pack(record)
        let previous = byNumber.updateValue(packed, forKey: record.key)
        var isNumber = true
        if previous == nil {
            let national = NationalNumber.of(sensDigits: record.key.digits)
            isNumber = national != nil
            if let national, national != record.key {
                nationalOf[record.key] = national
                otherForms[national, default: []].append(record.key)
            }
        } else if !nationalOf.isEmpty, nationalOf[record.key] == nil {
            isNumber = NationalNumber.of(sensDigits: record.key.digits) != nil
        }
        guard previous != packed else { return isNumber }
        if let previous {
            // Same time, other source: its entry stays valid. Another time: the old entry is dead.
            guard previous >> 1 != packed >> 1 else { return isNumber }
            staleEntries += 1
        }
        pending.append(TimedKey(time: record.registeredAtMilliseconds, key: record.key))
        return isNumber
    }

    mutating func remove(_ key: PhoneKey) {
        guard byNumber.removeValue(forKey: key) != nil else { return }
        staleEntries += 1
        if !nationalOf.isEmpty, let national = nationalOf.removeValue(forKey: key) {
            otherForms[national]?.removeAll { $0 == key }
            if otherForms[national]?.isEmpty == true { otherForms[national] = nil }
        }
    }

    /// How many records are registered in `lower...upper`: what SENS should count there.
    mutating func count(registeredIn lower: Int64, _ upper: Int64) -> Int {
        guard lower <= upper else { return 0 }
        mergePending()
        compact()
        return firstIndex { $0.time > upper } - firstIndex { $0.time >= lower }
    }

    /// Time ranges that together cover `lower...upper`, each holding about `records` records (a single
    /// millisecond may hold more), oldest first: the verification's buckets.
    mutating func buckets(_ lower: Int64, _ upper: Int64, records: Int) -> [ClosedRange<Int64>] {
        guard lower <= upper else { return [] }
        mergePending()
        compact()
        var buckets: [ClosedRange<Int64>] = []
        var start = lower
        var position = firstIndex { $0.time >= lower }
        let end = firstIndex { $0.time > upper }
        while position + records < end {
            // The next bucket starts at the time of the record `records` further on, never inside a millisecond;
            // a millisecond that holds more than `records` is a bucket of its own.
            var cut = ordered[position + records].time
            if cut == start { cut = start + 1 }
            buckets.append(start...(cut - 1))
            start = cut
            position = firstIndex { $0.time >= cut }
        }
        if start <= upper { buckets.append(start...upper) }
        return buckets
    }

    /// The live records registered in `lower...upper`, oldest first.
    /// Dead entries in the window are skipped rather than compacted away: a reconciliation asks once a window.
    mutating func records(registeredIn lower: Int64, _ upper: Int64) -> [MirrorRecord] {
        mergePending()
        // Dead entries are skipped below, and dropped once they are a quarter of the live ones.
        if staleEntries > byNumber.count / 4 { compact() }
        let start = firstIndex { $0.time >= lower }
        let end = firstIndex { $0.time > upper }
        guard start < end else { return [] }
        var records: [MirrorRecord] = []
        var previous: TimedKey?
        for entry in ordered[start..<end] where entry != previous {
            previous = entry
            if let packed = byNumber[entry.key], Int64(bitPattern: packed >> 1) == entry.time {
                records.append(Self.unpack(packed, key: entry.key))
            }
        }
        return records
    }

    /// One page of the list, newest registration first (ties by number, descending), as `query` asks.
    mutating func page(_ query: OptOutQuery) -> [OptOut] {
        let lower = query.fromMilliseconds ?? .min
        let upper = query.toMilliseconds ?? .max
        if let number = query.phoneNumber {
            guard query.page == 0, let key = PhoneKey(digits: number.digits), let record = optOut(of: key),
                (lower...upper).contains(record.registeredAtMilliseconds)
            else { return [] }
            return [record.optOut]
        }
        guard lower <= upper else { return [] }
        mergePending()
        compact()
        let start = firstIndex { $0.time >= lower }
        let end = firstIndex { $0.time > upper }
        let skip = query.page.multipliedReportingOverflow(by: query.pageSize)
        guard !skip.overflow, skip.partialValue < end - start else { return [] }
        let newest = end - 1 - skip.partialValue
        let oldest = max(start, newest - query.pageSize + 1)
        return (oldest...newest).reversed().map {
            let key = ordered[$0].key
            return Self.unpack(byNumber[key]!, key: nationalNumber(of: key)).optOut
        }
    }

    /// Merges `pending` into `ordered`.
    private mutating func mergePending() {
        guard !pending.isEmpty else { return }
        pending.sort()
        if let last = ordered.last, let first = pending.first, last > first {
            ordered = Self.merge(ordered, pending)
        } else {
            ordered.append(contentsOf: pending)
        }
        pending = []
    }

    /// `compact`, for the extension that reads the settled order.
    fileprivate mutating func compactAll() { compact() }
    fileprivate var settledOrder: [TimedKey] { ordered }
    fileprivate func packedRecord(_ key: PhoneKey) -> UInt64 { byNumber[key]! }

    /// Drops dead and repeated entries from `ordered` (after `mergePending`), so that a page is found by position.
    private mutating func compact() {
        guard staleEntries > 0 else { return }
        var kept: [TimedKey] = []
        kept.reserveCapacity(byNumber.count)
        for entry in ordered
        where byNumber[entry.key].map({ Int64(bitPattern: $0 >> 1) == entry.time }) == true && kept.last != entry {
            kept.append(entry)
        }
        ordered = kept
        staleEntries = 0
    }

    private static func merge(_ a: [TimedKey], _ b: [TimedKey]) -> [TimedKey] {
        var merged: [TimedKey] = []
        merged.reserveCapacity(a.count + b.count)
        var i = 0
        var j = 0
        while i < a.count, j < b.count {
            if a[i] <= b[j] {
                merged.append(a[i])
                i += 1
            } else {
                merged.append(b[j])
                j += 1
            }
        }
        merged.append(contentsOf: a[i...])
        merged.append(contentsOf: b[j...])
        return merged
    }

    /// The first index of `ordered` whose entry satisfies `predicate` (false, then true, along the array).
    private func firstIndex(where predicate: (TimedKey) -> Bool) -> Int {
        var low = 0
        var high = ordered.count
        while low < high {
            let middle = (low + high) / 2
            if predicate(ordered[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

extension OptOutIndex {
    /// Merges and compacts the time order, so that its entries are the live records, each once, oldest first:
    /// what a snapshot reads by position.
    mutating func settle() {
        mergePending()
        compactAll()
    }

    var settledCount: Int { settledOrder.count }

    /// The record at `position` of the settled time order, keyed by its national number.
    func settledRecord(at position: Int) -> MirrorRecord {
        let key = settledOrder[position].key
        return Self.unpack(packedRecord(key), key: nationalNumber(of: key))
    }
}
