import OpenAPIRuntime
import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Dates in the API: written as RFC 3339 with milliseconds and the configured offset (`…+09:00`), read with or
/// without fractional seconds and with any offset or `Z`.
struct RFC3339DateTranscoder: DateTranscoder {
    let utcOffsetSeconds: Int

    func encode(_ date: Date) throws -> String {
        RFC3339.format(epochMilliseconds: date.epochMilliseconds, utcOffsetSeconds: utcOffsetSeconds)
    }

    func decode(_ text: String) throws -> Date {
        guard let milliseconds = Self.parse(text) else { throw InvalidDate(text: text) }
        return Date(epochMilliseconds: milliseconds)
    }

    /// RFC 3339, also when an unencoded `+` of the offset reached the query as a space (`…00 09:00`).
    static func parse(_ text: String) -> Int64? {
        if let milliseconds = RFC3339.parse(text) { return milliseconds }
        let bytes = Array(text.utf8)
        guard bytes.count > 6, bytes[bytes.count - 6] == UInt8(ascii: " ") else { return nil }
        return RFC3339.parse(String(text.dropLast(6)) + "+" + String(text.suffix(5)))
    }

    struct InvalidDate: Error, CustomStringConvertible {
        let text: String
        var description: String { "not an RFC 3339 date-time (like 2025-11-26T10:11:59+09:00)" }
    }
}

extension Date {
    /// Nearest, not floor: a millisecond value survives the round trip through `Double` seconds.
    var epochMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    init(epochMilliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(epochMilliseconds) / 1000)
    }
}
