/// SENS's zone-less local timestamps, `YYYY-MM-DDTHH:mm:ss.sss`, read and written at a fixed UTC offset.
///
/// SENS runs in Korea, so the default offset is +09:00 (Asia/Seoul has kept a fixed offset with no daylight
/// saving since 1988). The conversion is plain calendar arithmetic: no time-zone database, no ICU.
public struct SENSLocalTime: Sendable, Equatable {
    /// Seconds east of UTC.
    public let utcOffsetSeconds: Int

    public static let korea = SENSLocalTime(utcOffsetSeconds: 9 * 3600)

    public init(utcOffsetSeconds: Int) {
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    /// `2025-11-26T10:11:59.271` for the given instant.
    public func format(epochMilliseconds: Int64) -> String {
        String(unsafeUninitializedCapacity: 64) { buffer in
            write(epochMilliseconds: epochMilliseconds, into: buffer)
        }
    }

    /// Writes ``format(epochMilliseconds:)``'s text into `buffer` (64 bytes are always enough) and returns its
    /// length: digit by digit into the caller's bytes, because list answers format a hundred of these per request.
    /// Years outside 0–9999 (which no SENS record has) are written with as many digits as they need.
    func write(epochMilliseconds: Int64, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let local = epochMilliseconds + Int64(utcOffsetSeconds) * 1000
        let (days, millisecondOfDay) = local.floorDividedBy(86_400_000)
        let (year, month, day) = CivilCalendar.date(fromDaysSinceEpoch: days)
        guard (0...9999).contains(year) else {
            let text =
                Array("\(year)-\(pad(month, 2))-\(pad(day, 2))T".utf8)
                + Array(format(millisecondOfDay: millisecondOfDay).utf8)
            let count = min(text.count, buffer.count)
            _ = buffer.initialize(from: text.prefix(count))
            return count
        }
        let seconds = Int(millisecondOfDay / 1000)
        var index = 0
        func digits(_ value: Int, _ width: Int) {
            var value = value
            for position in stride(from: index + width - 1, through: index, by: -1) {
                buffer[position] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
            index += width
        }
        func byte(_ character: Unicode.Scalar) {
            buffer[index] = UInt8(ascii: character)
            index += 1
        }
        digits(year, 4)
        byte("-")
        digits(month, 2)
        byte("-")
        digits(day, 2)
        byte("T")
        digits(seconds / 3600, 2)
        byte(":")
        digits(seconds / 60 % 60, 2)
        byte(":")
        digits(seconds % 60, 2)
        byte(".")
        digits(Int(millisecondOfDay % 1000), 3)
        return index
    }

    private func format(millisecondOfDay: Int64) -> String {
        let seconds = millisecondOfDay / 1000
        return
            "\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(millisecondOfDay % 1000, 3))"
    }

    /// The instant of a SENS local timestamp; fractional seconds of 0–9 digits are accepted.
    public func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        // YYYY-MM-DDTHH:mm:ss
        guard bytes.count >= 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = number(bytes, 0, 4), let month = number(bytes, 5, 2), let day = number(bytes, 8, 2),
            let hour = number(bytes, 11, 2), let minute = number(bytes, 14, 2), let second = number(bytes, 17, 2),
            (1...12).contains(month), (1...CivilCalendar.daysIn(month: month, year: year)).contains(day),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var millisecond: Int64 = 0
        if bytes.count > 19 {
            let fraction = bytes[20...]
            guard bytes[19] == UInt8(ascii: "."), (1...9).contains(fraction.count),
                let digits = number(bytes, 20, fraction.count)
            else { return nil }
            millisecond = Int64(digits)
            for _ in 0..<(3 - min(fraction.count, 3)) { millisecond *= 10 }
            for _ in 0..<max(fraction.count - 3, 0) { millisecond /= 10 }
        }
        let days = CivilCalendar.daysSinceEpoch(year: year, month: month, day: day)
        let localSeconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return (localSeconds - Int64(utcOffsetSeconds)) * 1000 + millisecond
    }

    private func number(_ bytes: [UInt8], _ start: Int, _ count: Int) -> Int? {
        var value = 0
        for byte in bytes[start..<(start + count)] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private func pad(_ value: some BinaryInteger, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

/// Proleptic Gregorian calendar arithmetic (H. Hinnant's days-from-civil algorithms).
enum CivilCalendar {
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func date(fromDaysSinceEpoch days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

extension Int64 {
    /// Floor division and the matching non-negative remainder.
    func floorDividedBy(_ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let quotient = (self >= 0 ? self : self - divisor + 1) / divisor
        return (quotient, self - quotient * divisor)
    }
}
