import SENSCore
import Testing

@Suite("SENS local timestamps (KST, no zone)")
struct SENSLocalTimeTests {
    @Test func formatsInKorea() {
        // 1700000000000 ms = 2023-11-14T22:13:20Z = 2023-11-15T07:13:20 in Seoul.
        #expect(SENSLocalTime.korea.format(epochMilliseconds: 1_700_000_000_000) == "2023-11-15T07:13:20.000")
        #expect(SENSLocalTime.korea.format(epochMilliseconds: 1_700_000_000_271) == "2023-11-15T07:13:20.271")
        #expect(SENSLocalTime(utcOffsetSeconds: 0).format(epochMilliseconds: 0) == "1970-01-01T00:00:00.000")
        #expect(SENSLocalTime(utcOffsetSeconds: 0).format(epochMilliseconds: -1) == "1969-12-31T23:59:59.999")
        // A leap day, crossing midnight in Seoul but not in UTC.
        #expect(SENSLocalTime.korea.format(epochMilliseconds: 1_709_218_800_000) == "2024-03-01T00:00:00.000")
    }

    @Test func formatsYearsOutsideFourDigits() {
        // 10000-01-01T00:00:00Z and 1 ms before year 0 begins; no SENS record has these, but nothing breaks.
        #expect(
            SENSLocalTime(utcOffsetSeconds: 0).format(epochMilliseconds: 253_402_300_800_000)
                == "10000-01-01T00:00:00.000"
        )
        #expect(
            SENSLocalTime(utcOffsetSeconds: 0).format(epochMilliseconds: -62_167_219_200_001) == "-1-12-31T23:59:59.999"
        )
    }

    @Test func formatsLikeAReferenceImplementation() {
        // The digit writer against plain arithmetic and string padding, over 50,000 instants from 1970 to 2100.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50_000 {
            let milliseconds = Int64.random(in: 0..<4_102_444_800_000, using: &generator)
            let local = milliseconds + 9 * 3_600_000
            let days = Int(local / 86_400_000)
            let millisecondOfDay = Int(local % 86_400_000)
            var (year, month, day) = (1970, 1, 1)
            var remaining = days
            while remaining >= (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 366 : 365) {
                remaining -= year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 366 : 365
                year += 1
            }
            let monthLengths = [
                31, year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                31,
            ]
            while remaining >= monthLengths[month - 1] {
                remaining -= monthLengths[month - 1]
                month += 1
            }
            day += remaining
            func pad(_ value: Int, _ width: Int) -> String {
                String(repeating: "0", count: width - String(value).count) + String(value)
            }
            let seconds = millisecondOfDay / 1000
            let expected =
                "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):"
                + "\(pad(seconds % 60, 2)).\(pad(millisecondOfDay % 1000, 3))"
            #expect(SENSLocalTime.korea.format(epochMilliseconds: milliseconds) == expected)
            #expect(RFC3339.format(epochMilliseconds: milliseconds, utcOffsetSeconds: 9 * 3600) == expected + "+09:00")
        }
    }

    @Test func parsesWhatItFormats() {
        for milliseconds: Int64 in [0, 1, 999, 1_700_000_000_271, 1_709_218_799_999, 4_102_444_800_000, -86_400_001] {
            let text = SENSLocalTime.korea.format(epochMilliseconds: milliseconds)
            #expect(SENSLocalTime.korea.parse(text) == milliseconds, "\(text)")
        }
        #expect(
            SENSLocalTime.korea.parse("2025-11-26T10:11:59") == SENSLocalTime.korea.parse("2025-11-26T10:11:59.000")
        )
        #expect(
            SENSLocalTime.korea.parse("2025-11-26T10:11:59.2") == SENSLocalTime.korea.parse("2025-11-26T10:11:59.200")
        )
        #expect(
            SENSLocalTime.korea.parse("2025-11-26T10:11:59.123456")
                == SENSLocalTime.korea.parse("2025-11-26T10:11:59.123")
        )
    }

    @Test(arguments: [
        "", "2025-11-26", "2025-13-01T00:00:00.000", "2025-02-29T00:00:00.000", "2025-11-26T24:00:00.000",
        "2025-11-26T10:11:59.", "2025-11-26T10:11:59Z", "2025/11/26T10:11:59.000", "abcd-11-26T10:11:59.000",
    ])
    func rejectsMalformed(text: String) {
        #expect(SENSLocalTime.korea.parse(text) == nil)
    }
}

@Suite("RFC 3339")
struct RFC3339Tests {
    @Test func formatsWithExplicitOffset() {
        #expect(
            RFC3339.format(epochMilliseconds: 1_700_000_000_271, utcOffsetSeconds: 9 * 3600)
                == "2023-11-15T07:13:20.271+09:00"
        )
        #expect(RFC3339.format(epochMilliseconds: 0, utcOffsetSeconds: 0) == "1970-01-01T00:00:00.000+00:00")
        #expect(
            RFC3339.format(epochMilliseconds: 0, utcOffsetSeconds: -(5 * 3600 + 1800))
                == "1969-12-31T18:30:00.000-05:30"
        )
        #expect(
            RFC3339.offsetText(0) == "+00:00" && RFC3339.offsetText(14 * 3600) == "+14:00"
                && RFC3339.offsetText(-(9 * 3600 + 45 * 60)) == "-09:45"
        )
    }

    @Test(
        arguments: [
            ("2023-11-15T07:13:20.271+09:00", 1_700_000_000_271), ("2023-11-14T22:13:20.271Z", 1_700_000_000_271),
            ("2023-11-14T22:13:20Z", 1_700_000_000_000), ("2023-11-14t22:13:20z", 1_700_000_000_000),
            ("2023-11-14 22:13:20+00:00", 1_700_000_000_000), ("2023-11-14T17:13:20-05:00", 1_700_000_000_000),
            ("2023-11-14T22:13:20.123456789Z", 1_700_000_000_123),
        ] as [(String, Int64)]
    )
    func parses(text: String, milliseconds: Int64) {
        #expect(RFC3339.parse(text) == milliseconds)
    }

    @Test(arguments: [
        "2023-11-14T22:13:20", "2023-11-14", "2023-11-14T22:13:20+9:00", "2023-11-14T22:13:20+24:00",
        "2023-11-14X22:13:20Z", "yesterday", "2023-02-30T00:00:00Z", "",
    ])
    func rejects(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }
}
