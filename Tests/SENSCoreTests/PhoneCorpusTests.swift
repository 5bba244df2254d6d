#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SENSCore
import Testing

/// One line of `Fixtures/phone-corpus.jsonl`, made by `scripts/make-phone-corpus.py` from libphonenumber.
struct PhoneCorpusCase: Decodable, CustomTestStringConvertible {
    struct Expectation: Decodable {
        var accept: Bool
        var digits: String?
        var kind: String?
        var code: String?
    }

    var input: String
    var note: String
    var expect: Expectation
    var departure: String?

    var testDescription: String { "\(input.debugDescription) (\(note))" }

    static func load() throws -> [PhoneCorpusCase] {
        let url = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "Fixtures/phone-corpus.jsonl")
        let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").map { try decoder.decode(PhoneCorpusCase.self, from: Data($0.utf8)) }
    }
}

@Suite("Phone corpus cross-checked against libphonenumber")
struct PhoneCorpusTests {
    @Test func corpusIsLargeAndVaried() throws {
        let cases = try PhoneCorpusCase.load()
        #expect(cases.count >= 1_000)
        let kinds = Set(cases.compactMap(\.expect.kind))
        #expect(kinds == Set(PhoneNumber.Kind.allCases.map(\.rawValue)))
        #expect(cases.filter { !$0.expect.accept }.count >= 100)
    }

    @Test func parserAgreesWithEveryCase() throws {
        var disagreements: [String] = []
        for item in try PhoneCorpusCase.load() {
            do {
                let number = try PhoneNumber.parse(item.input)
                if !item.expect.accept {
                    disagreements.append("\(item.testDescription): accepted as \(number.digits), expected a rejection")
                } else if number.digits != item.expect.digits || number.kind.rawValue != item.expect.kind {
                    disagreements.append("\(item.testDescription): \(number.digits) \(number.kind), expected \(item.expect.digits ?? "") \(item.expect.kind ?? "")")
                }
            } catch {
                if item.expect.accept {
                    disagreements.append("\(item.testDescription): rejected (\(error.reason)), expected \(item.expect.digits ?? "")")
                } else if let code = item.expect.code, code != error.code {
                    disagreements.append("\(item.testDescription): rejected as \(error.code), expected \(code)")
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements:\n\(disagreements.prefix(40).joined(separator: "\n"))")
    }

    /// Where the policy deliberately departs from libphonenumber, the corpus says so; these are the rules.
    @Test func departuresAreTheDocumentedOnes() throws {
        let departures = Set(try PhoneCorpusCase.load().compactMap(\.departure))
        let documented = [
            "characters other than digits", "0082 is read as the Korean country code", "cannot receive messages",
            "must be written with its leading 0", "carrier-selection prefixes", "have no leading 0", "one leading '+' only",
        ]
        for departure in departures {
            #expect(documented.contains { departure.contains($0) }, "undocumented departure: \(departure)")
        }
    }
}
