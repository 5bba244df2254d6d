/// A normalized phone number (`01012345678`, `15881234`) as one integer: its digit count in the top byte and its
/// value below, so that leading zeros survive. The mirror keeps and stores numbers in this form: 8 bytes instead
/// of a string.
public struct PhoneKey: Hashable, Comparable, Sendable {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Nil unless `digits` is 1 to 16 ASCII digits.
    public init?(digits: String) {
        var digits = digits
        guard
            let rawValue = digits.withUTF8({ bytes -> UInt64? in
                guard (1...16).contains(bytes.count) else { return nil }
                var value: UInt64 = 0
                for byte in bytes {
                    guard byte >= 0x30, byte <= 0x39 else { return nil }
                    value = value &* 10 &+ UInt64(byte - 0x30)
                }
                return UInt64(bytes.count) << 56 | value
            })
        else { return nil }
        self.rawValue = rawValue
    }

    /// How many digits `digits` has (up to 255 for a raw value no valid number has).
    public var digitCount: Int { Int(rawValue >> 56) }

    /// The digits, leading zeros included.
    public var digits: String {
        let count = digitCount
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
