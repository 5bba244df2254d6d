import OptOutMirror
import SENSCore

/// Sorts a campaign's recipients, as they are read, into opted out, invalid, unverified (in doubt: never allowed)
/// and (when asked) allowed: each is validated like any number, and the valid ones are looked up in the mirror in
/// batches, under one lock a batch.
struct RecipientFilter {
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

    let mirror: any MirrorReading
    /// Whether to keep the allowed recipients (for the CSV answer).
    let keepAllowed: Bool
    private(set) var checked = 0
    private(set) var optedOut: [OptedOut] = []
    private(set) var invalid: [Invalid] = []
    private(set) var unverified: [Unverified] = []
    /// The allowed recipients' numbers, in input order.
    private(set) var allowed: [PhoneKey] = []
    private var batch: [FilterRecipient] = []
    private var batchKeys: [PhoneKey] = []
    static let batchSize = 4_096

    init(mirror: any MirrorReading, keepAllowed: Bool) {
        self.mirror = mirror
        self.keepAllowed = keepAllowed
        batch.reserveCapacity(Self.batchSize)
        batchKeys.reserveCapacity(Self.batchSize)
    }

    mutating func add(_ recipient: FilterRecipient) {
        checked += 1
        let number: PhoneNumber
        do {
            number = try PhoneNumber.parse(recipient.input)
        } catch {
            invalid.append(Invalid(recipient: recipient, error: error))
            return
        }
        // A valid number is digits, which always make a key.
        guard let key = PhoneKey(digits: number.digits) else { return }
        batch.append(recipient)
        batchKeys.append(key)
        if batch.count == Self.batchSize { flush() }
    }

    /// Looks up what is waiting; call once more after the last recipient.
    mutating func flush() {
        guard !batch.isEmpty else { return }
        var listed = [MirrorRecord?](repeating: nil, count: batch.count)
        var doubted: Set<Int> = []
        mirror.lookUp(batchKeys) { position, record in
            listed[position] = record
        } inDoubt: {
            doubted.insert($0)
        }
        for (position, recipient) in batch.enumerated() {
            if !doubted.isEmpty, doubted.contains(position) {
                unverified.append(Unverified(recipient: recipient, key: batchKeys[position]))
            } else if let record = listed[position] {
                optedOut.append(OptedOut(recipient: recipient, record: record))
            } else if keepAllowed {
                allowed.append(batchKeys[position])
            }
        }
        batch.removeAll(keepingCapacity: true)
        batchKeys.removeAll(keepingCapacity: true)
    }
}
