import OptOutMirror
import SENSCore

/// Sorts a campaign's recipients, as they are read, into opted out, invalid, unverified (in doubt: never allowed)
/// and allowed: each is validated like any number, and the valid ones are looked up in the mirror in batches,
/// under one lock a batch. Every recipient's outcome is decided in input order, and handed to `rows` (the CSV
/// answer's rows) when there is one.
struct RecipientFilter {
    struct Options: Sendable {
        /// Put back the 0 a spreadsheet dropped (`PhoneNumberError.leadingZeroLost`), reporting each.
        var repairLeadingZero = false
        /// Of the allowed recipients with one number, keep only the first.
        var dedupe = false
    }

    /// What became of one recipient.
    enum Outcome {
        case allowed(PhoneKey)
        case optedOut(MirrorRecord)
        case unverified(PhoneKey)
        case invalid(PhoneNumberError)
        /// Allowed, but the same number as an earlier allowed recipient (`dedupe`), on this line (or position).
        case duplicate(PhoneKey, firstLine: Int)
    }

    struct OptedOut {
        var recipient: FilterRecipient
        var record: MirrorRecord
    }

    struct Unverified {
        var recipient: FilterRecipient
        var key: PhoneKey
    }

    struct Invalid {
        var recipient: FilterRecipient
        var error: PhoneNumberError
    }

    struct Repaired {
        var recipient: FilterRecipient
        var key: PhoneKey
    }

    let mirror: any MirrorReading
    let options: Options
    /// Given every recipient and its outcome, in input order.
    var rows: FilterRows?
    private(set) var checked = 0
    private(set) var optedOut: [OptedOut] = []
    private(set) var invalid: [Invalid] = []
    private(set) var unverified: [Unverified] = []
    private(set) var repaired: [Repaired] = []
    private(set) var duplicates = 0
    /// The allowed recipients' numbers, in input order (repeats left out with `dedupe`).
    private(set) var allowed: [PhoneKey] = []
    /// With `dedupe`: each allowed number's first line (or position, for JSON).
    private var firstSeen: [PhoneKey: Int] = [:]
    private var batch: [(recipient: FilterRecipient, key: PhoneKey?, error: PhoneNumberError?)] = []
    private var batchKeys: [PhoneKey] = []
    static let batchSize = 4_096

    init(mirror: any MirrorReading, options: Options, rows: FilterRows? = nil) {
        self.mirror = mirror
        self.options = options
        self.rows = rows
        batch.reserveCapacity(Self.batchSize)
        batchKeys.reserveCapacity(Self.batchSize)
    }

    mutating func add(_ recipient: FilterRecipient) {
        checked += 1
        let number: PhoneNumber
        do {
            number = try PhoneNumber.parse(recipient.input)
        } catch {
            guard options.repairLeadingZero, case .leadingZeroLost(let restored) = error,
                let key = PhoneKey(digits: restored)
            else {
                batch.append((recipient, nil, error))
                if batch.count == Self.batchSize { flush() }
                return
            }
            repaired.append(Repaired(recipient: recipient, key: key))
            enqueue(recipient, key)
            return
        }
        // A valid number is digits, which always make a key.
        guard let key = PhoneKey(digits: number.digits) else { return }
        enqueue(recipient, key)
    }

    private mutating func enqueue(_ recipient: FilterRecipient, _ key: PhoneKey) {
        batch.append((recipient, key, nil))
        batchKeys.append(key)
        if batch.count == Self.batchSize { flush() }
    }

    /// Looks up what is waiting; call once more after the last recipient.
    mutating func flush() {
        guard !batch.isEmpty else { return }
        var listed = [MirrorRecord?](repeating: nil, count: batchKeys.count)
        var doubted: Set<Int> = []
        if !batchKeys.isEmpty {
            mirror.lookUp(batchKeys) { position, record in
                listed[position] = record
            } inDoubt: {
                doubted.insert($0)
            }
        }
        var keyPosition = 0
        for (cellsAndAll, key, error) in batch {
            // The lists keep what the JSON answer and the counts need: the cells are for `rows` only.
            let recipient =
                cellsAndAll.cells.isEmpty
                ? cellsAndAll
                : FilterRecipient(index: cellsAndAll.index, line: cellsAndAll.line, input: cellsAndAll.input)
            let outcome: Outcome
            if let error {
                invalid.append(Invalid(recipient: recipient, error: error))
                outcome = .invalid(error)
            } else if let key {
                defer { keyPosition += 1 }
                if !doubted.isEmpty, doubted.contains(keyPosition) {
                    unverified.append(Unverified(recipient: recipient, key: key))
                    outcome = .unverified(key)
                } else if let record = listed[keyPosition] {
                    optedOut.append(OptedOut(recipient: recipient, record: record))
                    outcome = .optedOut(record)
                } else {
                    outcome = allow(recipient, key)
                }
            } else {
                continue
            }
            rows?.append(cellsAndAll, outcome)
        }
        batch.removeAll(keepingCapacity: true)
        batchKeys.removeAll(keepingCapacity: true)
    }

    private mutating func allow(_ recipient: FilterRecipient, _ key: PhoneKey) -> Outcome {
        if options.dedupe {
            let place = recipient.line ?? recipient.index
            if let first = firstSeen[key] {
                duplicates += 1
                return .duplicate(key, firstLine: first)
            }
            firstSeen[key] = place
        }
        allowed.append(key)
        return .allowed(key)
    }

    /// Whether an allowed number has been opted out (or fallen in doubt) since its batch was looked up: a body
    /// that arrives over seconds is checked a batch at a time, and an answer must not allow a number that it,
    /// or the mirror now, lists. Looked up again in batches, each under one lock.
    func allowedSinceListed() -> Bool {
        var listed = false
        var start = 0
        while start < allowed.count, !listed {
            let end = min(allowed.count, start + Self.batchSize)
            mirror.lookUp(Array(allowed[start..<end])) { _, _ in
                listed = true
            } inDoubt: { _ in
                listed = true
            }
            start = end
        }
        return listed
    }
}
