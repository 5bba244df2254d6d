import OptOuts
import SENSCore
import SENSTestSupport
import Testing

@testable import OptOutMirror

/// The in-memory index against a brute-force model: pages, time windows and lookups after random upserts,
/// moves and removals in any order.
@Suite struct OptOutIndexTests {
    @Test(arguments: [1, 2, 3, 4, 5])
    func answersLikeABruteForceModel(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        var index = OptOutIndex()
        var model: [PhoneKey: MirrorRecord] = [:]
        let keys = (0..<300).map { PhoneKey(digits: "0101234" + String(1000 + $0))! }
        for step in 0..<3_000 {
            let key = keys.randomElement(using: &random)!
            if Int.random(in: 0..<4, using: &random) == 0 {
                index.remove(key)
                model[key] = nil
            } else {
                // Few distinct times, so ties and moves back to an old time happen.
                let record = MirrorRecord(
                    key: key,
                    registeredAtMilliseconds: Int64.random(in: 0..<50, using: &random) * 1_000,
                    source: Bool.random(using: &random) ? .ars : .manual
                )
                index.upsert(record)
                model[key] = record
            }
            guard step % 97 == 0 else { continue }
            #expect(index.count == model.count)
            for key in keys { #expect(index.record(for: key) == model[key]) }
            let lower = Int64.random(in: 0..<50, using: &random) * 1_000
            let upper = lower + Int64.random(in: 0..<20, using: &random) * 1_000
            let window = model.values.filter { (lower...upper).contains($0.registeredAtMilliseconds) }
            #expect(Set(index.records(registeredIn: lower, upper).map(\.key)) == Set(window.map(\.key)))
            #expect(index.records(registeredIn: lower, upper).count == window.count)
            // Newest first, ties by number descending, in pages.
            let newestFirst = window.sorted {
                ($0.registeredAtMilliseconds, $0.key) > ($1.registeredAtMilliseconds, $1.key)
            }.map(\.optOut)
            let pageSize = Int.random(in: 1...7, using: &random)
            for page in 0...(newestFirst.count / pageSize) {
                let expected = Array(newestFirst.dropFirst(page * pageSize).prefix(pageSize))
                #expect(
                    index.page(
                        OptOutQuery(fromMilliseconds: lower, toMilliseconds: upper, page: page, pageSize: pageSize)
                    ) == expected
                )
            }
        }
    }

    @Test func keepsLeadingZerosInItsKeys() throws {
        for digits in ["01012345678", "0212345678", "15881234", "0", "0000000000000000"] {
            #expect(PhoneKey(digits: digits)?.digits == digits)
        }
        #expect(PhoneKey(digits: "") == nil)
        #expect(PhoneKey(digits: "010-1234") == nil)
        #expect(PhoneKey(digits: "01012345678") != PhoneKey(digits: "1012345678"))
    }

    @Test func answersOnePageForOneNumber() throws {
        var index = OptOutIndex()
        let record = MirrorRecord(key: PhoneKey(digits: "01012345678")!, registeredAtMilliseconds: 5_000, source: .ars)
        index.upsert(record)
        let number = try PhoneNumber.parse("010-1234-5678")
        #expect(index.page(OptOutQuery(phoneNumber: number)) == [record.optOut])
        #expect(index.page(OptOutQuery(phoneNumber: number, fromMilliseconds: 6_000)) == [])
        #expect(index.page(OptOutQuery(phoneNumber: number, page: 1)) == [])
    }
}
