import OptOuts
import SENSCore
import SENSTestSupport
import Testing

@testable import OptOutMirror

/// Records SENS holds in other digit forms, the verification's buckets and counts, and its probe's page size.
@Suite struct MirrorFormsAndBucketsTests {
    @Test func readsEveryFormOfAKoreanNumberAsTheNationalNumber() {
        let forms = ["01012345678", "821012345678", "8201012345678", "00821012345678", "1012345678"]
        for form in forms { #expect(NationalNumber.of(sensDigits: form)?.digits == "01012345678", "\(form)") }
        #expect(NationalNumber.of(sensDigits: "0212345678")?.digits == "0212345678")
        #expect(NationalNumber.of(sensDigits: "15881234")?.digits == "15881234")
        #expect(NationalNumber.of(sensDigits: "212345678")?.digits == "0212345678")
        for noNumber in ["12345", "0801234567", "11234567890123", "9"] {
            #expect(NationalNumber.of(sensDigits: noNumber) == nil, "\(noNumber)")
        }
    }

    @Test func aRecordInAnotherFormAnswersForTheNationalNumberUntilItGoes() throws {
        var index = OptOutIndex()
        let national = try #require(PhoneKey(digits: "01012345678"))
        let form = try #require(PhoneKey(digits: "821012345678"))
        let noNumber = try #require(PhoneKey(digits: "12345"))
        let formIsNumber = index.upsert(MirrorRecord(key: form, registeredAtMilliseconds: 5, source: .ars))
        let noNumberIsNumber = index.upsert(MirrorRecord(key: noNumber, registeredAtMilliseconds: 6, source: .manual))
        #expect(formIsNumber && !noNumberIsNumber)
        #expect(index.count == 2)
        #expect(index.optOut(of: national) == MirrorRecord(key: national, registeredAtMilliseconds: 5, source: .ars))
        #expect(index.record(for: national) == nil)
        #expect(index.holdsOtherForm(of: national))
        // A list page names the national number; the one with no number as SENS holds it.
        #expect(index.page(OptOutQuery()).map(\.phoneNumber) == ["12345", "01012345678"])
        #expect(
            index.page(OptOutQuery(phoneNumber: try PhoneNumber.parse("010-1234-5678"))).map(\.registeredAtMilliseconds)
                == [5]
        )
        // The national form itself comes first once SENS holds it too; removing the other form leaves it.
        index.upsert(MirrorRecord(key: national, registeredAtMilliseconds: 9, source: .manual))
        #expect(index.optOut(of: national)?.registeredAtMilliseconds == 9)
        index.remove(form)
        #expect(!index.holdsOtherForm(of: national))
        #expect(index.optOut(of: national)?.registeredAtMilliseconds == 9)
        index.remove(national)
        #expect(index.optOut(of: national) == nil)
    }

    @Test(arguments: [1, 2, 3]) func bucketsCoverTheRangeWithoutSplittingAMillisecond(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var index = OptOutIndex()
        var times: [Int64] = []
        for number in 0..<2_000 {
            // Clusters: many records share a millisecond (a bulk register), some stand alone.
            let time =
                Bool.random(using: &random)
                ? Int64.random(in: 0..<20, using: &random) * 1_000 : Int64.random(in: 0..<100_000, using: &random)
            index.upsert(
                MirrorRecord(
                    key: PhoneKey(digits: "0107" + String(1_000_000 + number))!,
                    registeredAtMilliseconds: time,
                    source: .ars
                )
            )
            times.append(time)
        }
        for _ in 0..<300 {
            index.remove(PhoneKey(digits: "0107" + String(1_000_000 + Int.random(in: 0..<2_000, using: &random)))!)
        }
        let size = Int.random(in: 1...150, using: &random)
        let buckets = index.buckets(0, 100_000, records: size)
        #expect(buckets.first?.lowerBound == 0 && buckets.last?.upperBound == 100_000)
        for (earlier, later) in zip(buckets, buckets.dropFirst()) {
            #expect(earlier.upperBound + 1 == later.lowerBound)
        }
        var total = 0
        for bucket in buckets {
            let count = index.count(registeredIn: bucket.lowerBound, bucket.upperBound)
            let listed = index.records(registeredIn: bucket.lowerBound, bucket.upperBound).count
            #expect(count == listed)
            // Larger than asked only when it is one millisecond that holds more.
            #expect(
                count <= size || bucket.lowerBound == bucket.upperBound,
                "\(bucket): \(count) records, \(size) asked"
            )
            total += count
        }
        let held = index.count
        #expect(total == held)
    }

    /// SENS holds `n` records in a window exactly when the probed page holds `n mod s` (clamped page arithmetic).
    @Test func theProbedPageTellsExactlyWhetherSENSHoldsAsManyRecords() {
        for expected in [0, 1, 99, 100, 101, 4_950, 9_900, 10_000, 485_099] {
            let size = MirrorVerification.pageSize(for: expected)
            #expect((1...100).contains(size))
            let page = expected / size
            func probed(_ held: Int) -> Int { min(max(held - size * page, 0), size) }
            for held in [0, expected - 1, expected + 1, expected + size, expected * 2 + 1]
            where held >= 0 && held != expected {
                #expect(probed(held) != probed(expected), "n=\(expected) m=\(held) s=\(size)")
            }
            #expect(probed(expected) == expected % size)
        }
    }
}
