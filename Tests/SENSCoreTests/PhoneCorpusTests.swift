import SENSCore
import SENSTestSupport
import Testing

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
                    disagreements.append("\(item.description): accepted as \(number.digits), expected a rejection")
                } else if number.digits != item.expect.digits || number.kind.rawValue != item.expect.kind {
                    disagreements.append(
                        "\(item.description): \(number.digits) \(number.kind), expected \(item.expect.digits ?? "") \(item.expect.kind ?? "")"
                    )
                }
            } catch {
                if item.expect.accept {
                    disagreements.append(
                        "\(item.description): rejected (\(error.reason)), expected \(item.expect.digits ?? "")"
                    )
                } else if let code = item.expect.code, code != error.code {
                    disagreements.append("\(item.description): rejected as \(error.code), expected \(code)")
                }
            }
        }
        #expect(
            disagreements.isEmpty,
            "\(disagreements.count) disagreements:\n\(disagreements.prefix(40).joined(separator: "\n"))"
        )
    }

    /// Where the policy deliberately departs from libphonenumber, the corpus says so; these are the rules.
    @Test func departuresAreTheDocumentedOnes() throws {
        let departures = Set(try PhoneCorpusCase.load().compactMap(\.departure))
        let documented = [
            "characters other than digits", "0082 is read as the Korean country code", "cannot receive messages",
            "must be written with its leading 0", "carrier-selection prefixes", "have no leading 0",
            "one leading '+' only",
        ]
        for departure in departures {
            #expect(documented.contains { departure.contains($0) }, "undocumented departure: \(departure)")
        }
    }
}
