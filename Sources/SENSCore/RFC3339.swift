/// RFC 3339 timestamps: written with milliseconds and a numeric offset, read with or without fractional seconds
/// and with `Z` or any offset.
public enum RFC3339 {
    /// `2025-11-26T10:11:59.271+09:00`.
    public static func format(epochMilliseconds: Int64, utcOffsetSeconds: Int) -> String {
        String(unsafeUninitializedCapacity: maxBytes) {
            write(epochMilliseconds: epochMilliseconds, utcOffsetSeconds: utcOffsetSeconds, into: $0)
        }
    }

    /// The most bytes `write` writes.
    public static let maxBytes = 64

    /// Writes ``format(epochMilliseconds:utcOffsetSeconds:)``'s bytes into `buffer` (at least `maxBytes` long), for
    /// answers written as bytes; returns how many.
    public static func write(
        epochMilliseconds: Int64,
        utcOffsetSeconds: Int,
        into buffer: UnsafeMutableBufferPointer<UInt8>
    ) -> Int {
        let count = SENSLocalTime(utcOffsetSeconds: utcOffsetSeconds).write(
            epochMilliseconds: epochMilliseconds,
            into: buffer
        )
        return count + writeOffset(utcOffsetSeconds, into: UnsafeMutableBufferPointer(rebasing: buffer[count...]))
    }

    /// `+09:00`, `-05:30`; `Z` is never written, so the offset is always explicit.
    public static func offsetText(_ seconds: Int) -> String {
        String(unsafeUninitializedCapacity: 6) { writeOffset(seconds, into: $0) }
    }

    /// Writes ``offsetText(_:)``'s six bytes (hours beyond 99 are not offsets and are cut to two digits).
    private static func writeOffset(_ seconds: Int, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let minutes = abs(seconds) / 60
        let hours = minutes / 60 % 100
        let rest = minutes % 60
        buffer[0] = seconds < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+")
        buffer[1] = UInt8(ascii: "0") + UInt8(hours / 10)
        buffer[2] = UInt8(ascii: "0") + UInt8(hours % 10)
        buffer[3] = UInt8(ascii: ":")
        buffer[4] = UInt8(ascii: "0") + UInt8(rest / 10)
        buffer[5] = UInt8(ascii: "0") + UInt8(rest % 10)
        return 6
    }

    /// The instant of an RFC 3339 date-time (`T`, `t` or a space between date and time), or nil.
    public static func parse(_ text: String) -> Int64? {
        var bytes = Array(text.utf8)
        guard bytes.count >= 20 else { return nil }
        let offsetSeconds: Int
        if bytes.last == UInt8(ascii: "Z") || bytes.last == UInt8(ascii: "z") {
            offsetSeconds = 0
            bytes.removeLast()
        } else {
            guard let offset = parseOffset(bytes.suffix(6)) else { return nil }
            offsetSeconds = offset
            bytes.removeLast(6)
        }
        if bytes.count > 10, bytes[10] == UInt8(ascii: "t") { bytes[10] = UInt8(ascii: "T") }
        guard bytes.count > 10, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " ") else { return nil }
        return SENSLocalTime(utcOffsetSeconds: offsetSeconds).parse(String(decoding: bytes, as: UTF8.self))
    }

    /// `+HH:MM` or `-HH:MM`.
    private static func parseOffset(_ bytes: ArraySlice<UInt8>) -> Int? {
        let b = Array(bytes)
        guard b.count == 6, b[0] == UInt8(ascii: "+") || b[0] == UInt8(ascii: "-"), b[3] == UInt8(ascii: ":") else {
            return nil
        }
        let digits = [b[1], b[2], b[4], b[5]]
        guard digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        let values = digits.map { Int($0 - UInt8(ascii: "0")) }
        let hours = values[0] * 10 + values[1]
        let minutes = values[2] * 10 + values[3]
        guard hours < 24, minutes < 60 else { return nil }
        let seconds = hours * 3600 + minutes * 60
        return b[0] == UInt8(ascii: "-") ? -seconds : seconds
    }
}
