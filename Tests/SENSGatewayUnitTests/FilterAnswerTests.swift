import GatewayAPI
import HTTPTypes
import NIOCore
import OptOutMirror
import OptOuts
import SENSCore
import SENSTestSupport
import Testing

@testable import GatewayHTTP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The filter's hand-written answer against the types generated from `openapi.yaml`: over many generated
/// batches (odd inputs, escapes, every error code), the bytes decode as `FilterResult` to exactly what the
/// filter found.
@Suite struct FilterAnswerTests {
    /// Lists every number whose key is even, and holds those whose key is 1 more than a multiple of 4 in doubt.
    struct EvenNumbersMirror: MirrorReading {
        func cursorScope() async throws -> String { "test" }
        func asOf() -> Int64? { 1_700_000_000_000 }
        func lookUp(_ keys: [PhoneKey], found: (Int, MirrorRecord) -> Void, inDoubt: (Int) -> Void) {
            for (position, key) in keys.enumerated() {
                if key.rawValue % 2 == 0 {
                    found(
                        position,
                        MirrorRecord(
                            key: key,
                            registeredAtMilliseconds: 1_700_000_000_000 + Int64(position),
                            source: position % 3 == 0 ? .manual : .ars
                        )
                    )
                } else if key.rawValue % 4 == 1 {
                    inDoubt(position)
                }
            }
        }
        func changes(after sequence: Int64?, limit: Int) async throws -> (after: Int64, changes: [MirrorChange]) {
            (sequence ?? 0, [])
        }
        func status() -> MirrorStatus { .disabled("test") }
        func snapshot() -> Result<MirrorSnapshot, MirrorSnapshot.Refusal> { .failure(.unavailable("test")) }
    }

    static let pieces = [
        "010", "-", " ", "1234", "5678", "+82", "(0)", "02", "080", "\"", "\\", "\u{0}", "\t", "\n", "é", "🙂",
        "１２３", "\u{FEFF}", "a", "0", "9", "\u{7F}", "/", "</script>",
    ]

    @Test(arguments: 0..<20)
    func decodesAsTheGeneratedTypeOverGeneratedBatches(seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed) &+ 1)
        let inputs: [String] = (0..<200).map { _ in
            if Bool.random(using: &random) {
                return "010" + String(Int.random(in: 10_000_000...99_999_999, using: &random))
            }
            return (0..<Int.random(in: 0...12, using: &random)).map { _ in Self.pieces.randomElement(using: &random)! }
                .joined()
        }
        let mirror = EvenNumbersMirror()
        var filter = RecipientFilter(mirror: mirror, options: .init())
        for (index, input) in inputs.enumerated() {
            filter.add(FilterRecipient(index: index, line: seed % 2 == 0 ? nil : index + 2, input: input))
        }
        filter.flush()
        let bytes = FilterAnswer.json(filter, header: nil, asOf: 1_700_000_000_000, utcOffsetSeconds: 9 * 3600)
        let answer = HTTPAnswer(status: 200, headers: [:], body: String(buffer: bytes))
        let result = try answer.decodeGenerated(Components.Schemas.FilterResult.self)

        #expect(result.checked == inputs.count)
        #expect(
            result.optedOut.count + result.invalid.count + result.unverified.count + filter.allowed.count
                == inputs.count
        )
        var optedOut: [Int] = []
        var invalid: [Int] = []
        var unverified: [Int] = []
        var allowed: [String] = []
        for (index, input) in inputs.enumerated() {
            guard let number = try? PhoneNumber.parse(input) else {
                invalid.append(index)
                continue
            }
            let key = PhoneKey(digits: number.digits)!.rawValue
            if key % 2 == 0 {
                optedOut.append(index)
            } else if key % 4 == 1 {
                unverified.append(index)
            } else {
                allowed.append(number.digits)
            }
        }
        #expect(result.optedOut.map(\.index) == optedOut)
        #expect(result.invalid.map(\.index) == invalid)
        #expect(result.unverified.map(\.index) == unverified)
        #expect(!unverified.isEmpty || seed > 0, "the batches hold numbers in doubt")
        for item in result.unverified {
            #expect(item.input == inputs[item.index])
            #expect(item.phoneNumber == (try PhoneNumber.parse(inputs[item.index])).digits)
            #expect(item.reason == FilterAnswer.unverifiedReason)
            #expect(item.line == (seed % 2 == 0 ? nil : item.index + 2))
        }
        #expect(filter.allowed.map(\.digits) == allowed)
        for item in result.invalid {
            #expect(item.input == FilterAnswer.echoed(inputs[item.index]))
            do {
                _ = try PhoneNumber.parse(inputs[item.index])
            } catch {
                #expect(item.code.rawValue == error.code)
                #expect(item.reason == error.reason)
            }
            #expect(item.line == (seed % 2 == 0 ? nil : item.index + 2))
        }
        for item in result.optedOut {
            #expect(item.input == inputs[item.index])
            #expect(item.phoneNumber == (try PhoneNumber.parse(inputs[item.index])).digits)
        }
        let csv = String(decoding: FilterAnswer.numbers(filter), as: UTF8.self)
        #expect(csv == allowed.map { $0 + "\n" }.joined())
    }

    @Test func answersCSVOnlyWhenAcceptPrefersIt() {
        let csv = [
            "text/csv", "TEXT/CSV; charset=utf-8", "text/csv, application/json;q=0.5", "application/json;q=0.1, text/*",
            "text/csv;q=0.9, application/json;q=0.8",
        ]
        let json: [String] = [
            "", "application/json", "*/*", "text/csv;q=0.1, application/json", "text/csv;q=0", "text/csv; q = 0",
            "text/*, application/json", "application/problem+json", "text/csv;q=0.5, */*;q=0.5",
        ]
        for accept in csv { #expect(FilterPlan.csvPreference([accept]) != nil, "\(accept)") }
        for accept in json { #expect(FilterPlan.csvPreference(accept.isEmpty ? [] : [accept]) == nil, "\(accept)") }
    }

    @Test func admitsAsManyFiltersAsItsLimit() {
        let admission = FilterAdmission(limit: 2)
        #expect(admission.enter())
        #expect(admission.enter())
        #expect(!admission.enter())
        admission.leave()
        #expect(admission.enter())
        #expect(!admission.enter())
    }
}
