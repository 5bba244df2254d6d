/// What a JSON string's escapes stand for, shared by the gateway's hand-written readers (SENS's answers, callers'
/// bodies) so that they decode escapes alike; and the one hex-digit decoder (percent-encoding uses it too).
public enum JSONEscapes {
    /// The byte a one-character escape stands for (`n` in `\n`, `"` in `\"`…); nil for `u` and for any other byte.
    public static func single(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): byte
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
    }

    /// A hexadecimal digit's value (either case).
    public static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    public static func isHighSurrogate(_ unit: UInt32) -> Bool { (0xD800...0xDBFF).contains(unit) }
    public static func isLowSurrogate(_ unit: UInt32) -> Bool { (0xDC00...0xDFFF).contains(unit) }

    /// The scalar a `\uXXXX\uXXXX` surrogate pair stands for.
    public static func scalar(high: UInt32, low: UInt32) -> Unicode.Scalar? {
        guard isHighSurrogate(high), isLowSurrogate(low) else { return nil }
        return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    }
}
