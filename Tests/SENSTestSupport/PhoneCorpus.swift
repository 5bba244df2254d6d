#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One line of `Fixtures/phone-corpus.jsonl`, made by `scripts/make-phone-corpus.py` from libphonenumber.
public struct PhoneCorpusCase: Decodable, Sendable, CustomStringConvertible {
    public struct Expectation: Decodable, Sendable {
        public var accept: Bool
        public var digits: String?
        public var kind: String?
        public var code: String?
    }

    public var input: String
    public var note: String
    public var expect: Expectation
    public var departure: String?

    public var description: String { "\(input.debugDescription) (\(note))" }

    public static func load() throws -> [PhoneCorpusCase] {
        let url = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "Fixtures/phone-corpus.jsonl")
        let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").map { try decoder.decode(PhoneCorpusCase.self, from: Data($0.utf8)) }
    }
}
