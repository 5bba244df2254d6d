import SENSTestSupport
import Testing

@testable import SENSCore

/// The byte scan (ASCII inputs) against the character scan it short-cuts: on the corpus, on random inputs and on
/// mutations of the corpus, both give the same number or the same error, position included.
@Suite struct PhoneParseDifferentialTests {
    static func agree(_ input: String) -> Bool {
        let bytes = Result { () throws(PhoneNumberError) in try PhoneNumber.parse(input, bytesFirst: true) }
        let characters = Result { () throws(PhoneNumberError) in try PhoneNumber.parse(input, bytesFirst: false) }
        switch (bytes, characters) {
        case (.success(let a), .success(let b)): return a.digits == b.digits && a.kind == b.kind
        case (.failure(let a), .failure(let b)): return a == b
        default: return false
        }
    }

    @Test func agreesOnTheCorpus() throws {
        for item in try PhoneCorpusCase.load() {
            #expect(Self.agree(item.input), "\(item)")
        }
    }

    /// Pieces weighted toward what the byte scan takes, with everything that must send it to the character scan.
    static let pieces: [String] = [
        "0", "1", "2", "5", "8", "9", "0", "1", "82", "010", "02", "1588", " ", "-", ".", "/", "(", ")",
        "+", "+82", "0082", "\t", "\r", "\n", "\r\n", "\u{0B}", "\u{0C}", "a", "#", "*", "~", ",",
        "\u{A0}", "\u{3000}", "\u{FEFF}", "－", "＋", "０", "９", "\u{2212}", "\u{1C}", "é", "🙂",
        "\u{0}", "\u{7F}", "\u{85}",
    ]

    @Test(arguments: 0..<8)
    func agreesOnRandomInputs(seed: UInt64) {
        var random = SeededGenerator(seed: seed &+ 11)
        for _ in 0..<20_000 {
            let input = (0..<Int.random(in: 0...24, using: &random)).map { _ in
                Self.pieces.randomElement(using: &random)!
            }.joined()
            #expect(Self.agree(input), "\(input.debugDescription)")
        }
    }

    /// The mobile fast path's edges: every 01X prefix, every length around 10 and 11 digits, the 0105 9X
    /// allocation rule, with +82, 0082, 82 and +82 0 in front, exhaustively over the digits that decide.
    @Test func agreesOnEveryMobileShape() {
        var count = 0
        for prefix in ["0", "+82 ", "+820", "0082", "82", "+82-0", "+8"] {
            for second in 0...9 {
                for third in ["5", "2", "0"] {
                    for fourth in 0...9 {
                        for fifth in ["6", "7", "0"] {
                            for tail in ["", "1", "12", "123", "1234", "12345", "123456"] {
                                let input = prefix + "1\(second)" + third + "\(fourth)" + fifth + tail
                                #expect(Self.agree(input), "\(input)")
                                count += 1
                            }
                        }
                    }
                }
            }
        }
        #expect(count == 7 * 10 * 3 * 10 * 3 * 7)
    }

    @Test func agreesOnMutationsOfTheCorpus() throws {
        var random = SeededGenerator(seed: 20_261_201)
        for item in try PhoneCorpusCase.load() {
            for _ in 0..<8 {
                var characters = Array(item.input)
                let piece: Character = Self.pieces.randomElement(using: &random)!.first ?? " "
                let at = Int.random(in: 0...characters.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: characters.insert(piece, at: at)
                case 1: if at < characters.count { characters.remove(at: at) }
                default: if at < characters.count { characters[at] = piece }
                }
                let input = String(characters)
                #expect(Self.agree(input), "\(input.debugDescription) from \(item)")
            }
        }
        // Long inputs, at and around the bound.
        for length in 60...70 {
            #expect(Self.agree(String(repeating: "1", count: length)))
            #expect(Self.agree(" " + String(repeating: "0", count: length)))
        }
    }
}
