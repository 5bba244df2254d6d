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

    @Test func parsesWhatItFormats() {
        for milliseconds: Int64 in [0, 1, 999, 1_700_000_000_271, 1_709_218_799_999, 4_102_444_800_000, -86_400_001] {
            let text = SENSLocalTime.korea.format(epochMilliseconds: milliseconds)
            #expect(SENSLocalTime.korea.parse(text) == milliseconds, "\(text)")
        }
        #expect(SENSLocalTime.korea.parse("2025-11-26T10:11:59") == SENSLocalTime.korea.parse("2025-11-26T10:11:59.000"))
        #expect(SENSLocalTime.korea.parse("2025-11-26T10:11:59.2") == SENSLocalTime.korea.parse("2025-11-26T10:11:59.200"))
        #expect(SENSLocalTime.korea.parse("2025-11-26T10:11:59.123456") == SENSLocalTime.korea.parse("2025-11-26T10:11:59.123"))
    }

    @Test(arguments: ["", "2025-11-26", "2025-13-01T00:00:00.000", "2025-02-29T00:00:00.000", "2025-11-26T24:00:00.000",
                      "2025-11-26T10:11:59.", "2025-11-26T10:11:59Z", "2025/11/26T10:11:59.000", "abcd-11-26T10:11:59.000"])
    func rejectsMalformed(text: String) {
        #expect(SENSLocalTime.korea.parse(text) == nil)
    }
}
