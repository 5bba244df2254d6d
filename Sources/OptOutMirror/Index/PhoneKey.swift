/// A normalized phone number (`01012345678`, `15881234`) as one integer: its digit count in the top byte and its
/// value below, so that leading zeros survive. The mirror keeps and stores numbers in this form: 8 bytes instead
/// of a string.
public struct PhoneKey: Hashable, Comparable, Sendable {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Nil unless `digits` is 1 to 19 ASCII digits.
    public init?(digits: some StringProtocol) {
        var value: UInt64 = 0
        var count: UInt64 = 0
        for byte in digits.utf8 {
            guard byte >= 0x30, byte <= 0x39, count < 19 else { return nil }
            value = value &* 10 &+ UInt64(byte - 0x30)
            count += 1
        }
        guard count > 0, value < (1 << 56) else { return nil }
        rawValue = count << 56 | value
    }

    /// The digits, leading zeros included.
    public var digits: String {
        let count = Int(rawValue >> 56)
        var value = rawValue & ((1 << 56) - 1)
        return String(unsafeUninitializedCapacity: count) { buffer in
            for position in stride(from: count - 1, through: 0, by: -1) {
                buffer[position] = UInt8(truncatingIfNeeded: value % 10) + 0x30
                value /= 10
            }
            return count
        }
    }

    public static func < (lhs: PhoneKey, rhs: PhoneKey) -> Bool { lhs.rawValue < rhs.rawValue }
}
