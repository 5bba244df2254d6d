import SENSCore
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The byte reader of SENS answers must give the same answer as `JSONDecoder` for every input: the same records,
/// or a refusal where the decoder throws.
@Suite("SENS answers read from bytes")
struct SENSRecordsReaderTests {
    static let record = #"{"clientTelNo":"01012345678","registerType":"M","registerTime":"2025-11-26T10:11:59.271"}"#

    static let accepted: [String] = [
        "[]", " [ ] ", "[\(record)]", "[\(record),\(record)]",
        // Whitespace everywhere, other key orders, unknown keys with every kind of value.
        "\n[\t{ \"registerTime\" : \"2025-11-26T10:11:59.271\" ,\r\n \"registerType\":\"C\", \"clientTelNo\" : \"0212345678\" } ]\n",
        #"[{"extra":{"a":[1,-2.5e+3,0.0,true,false,null,{"b":"c"}],"d":[]},"clientTelNo":"01012345678","registerType":"M","registerTime":"x","n":-0}]"#,
        // Escapes in values and keys.
        #"[{"clientTelNo":"010\u0031\u00e9\ud83d\ude00","registerType":"\u0043","registerTime":"a\"b\\c\/d\b\f\n\r\t","k\u0065y":1}]"#,
        // JSONDecoder's leniencies: trailing commas; numbers in unknown fields checked only loosely.
        "[\(record),]",
        #"[{"clientTelNo":"0101","registerType":"M","registerTime":"t","x":[1,],"y":{"z":1,},"w":01,"v":1.,"u":-,"t":1e,}]"#,
        // UTF-8 text.
        #"[{"clientTelNo":"번호","registerType":"M","registerTime":"2025"}]"#,
    ]

    static let refused: [String] = [
        "", " ", "{}", "null", "[", "]", "[,]", "[\(record)] x", "[\(record)][]", "[\(record)",
        #"[{"clientTelNo":"01012345678","registerType":"M"}]"#,
        #"[{"clientTelNo":"01012345678","registerType":"X","registerTime":"t"}]"#,
        #"[{"clientTelNo":null,"registerType":"M","registerTime":"t"}]"#,
        #"[{"clientTelNo":1012345678,"registerType":"M","registerTime":"t"}]"#,
        #"[{"clientTelNo":"0101" "registerType":"M","registerTime":"t"}]"#,
        #"[{"clientTelNo":"0101","registerType":"M","registerTime":"t","x":tru}]"#,
        #"[{"clientTelNo":"01\x01","registerType":"M","registerTime":"t"}]"#,
        #"[{"clientTelNo":"01\q","registerType":"M","registerTime":"t"}]"#,
        #"[{"clientTelNo":"01\u12","registerType":"M","registerTime":"t"}]"#,
        #"[{"clientTelNo":"01\ud83d","registerType":"M","registerTime":"t"}]"#,
        #"[{"clientTelNo":"01","registerType":"M","registerTime":"t"}"#,
        #"[{"clientTelNo":"01","registerType":"M","registerTime":"t","x":[,]}]"#,
        #"[{"clientTelNo":"01","registerType":"M","registerTime":"t","x":{,}}]"#,
        #"[{"clientTelNo":"01","registerType":"M","registerTime":"t","x":.5}]"#,
        "[\(record),,]",
        "[\"\(record)\"]", "[[\(record)]]",
    ]

    static func decoded(_ text: String) -> [SENSUnsubscribeRecord]? {
        try? JSONDecoder().decode([SENSUnsubscribeRecord].self, from: Data(text.utf8))
    }

    static func read(_ bytes: [UInt8]) -> [SENSUnsubscribeRecord]? {
        bytes.withUnsafeBytes { SENSRecordsReader.records(in: $0) }
    }

    @Test(arguments: accepted)
    func readsWhatTheDecoderReads(text: String) throws {
        let expected = try #require(Self.decoded(text), "the decoder should accept this input")
        #expect(Self.read(Array(text.utf8)) == expected)
    }

    @Test(arguments: refused)
    func refusesWhatTheDecoderRefuses(text: String) {
        #expect(Self.decoded(text) == nil, "the decoder should refuse this input")
        #expect(Self.read(Array(text.utf8)) == nil)
    }

    @Test func refusesInvalidUTF8() {
        let bytes =
            Array(#"[{"clientTelNo":"01"#.utf8) + [0xFF] + Array(#"","registerType":"M","registerTime":"t"}]"#.utf8)
        #expect(Self.read(bytes) == nil)
    }

    @Test func refusesDeepNesting() {
        let deep =
            #"[{"x":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
            + #","clientTelNo":"0","registerType":"M","registerTime":"t"}]"#
        #expect(Self.read(Array(deep.utf8)) == nil)
    }

    @Test func agreesOnEveryCutOfAPage() {
        // Every prefix of a valid answer (a truncated body) is refused by both; the whole is read by both.
        let page = "[" + (0..<3).map { _ in Self.record }.joined(separator: ", ") + "]"
        let bytes = Array(page.utf8)
        for end in 0..<bytes.count {
            #expect(Self.read(Array(bytes[..<end])) == nil, "prefix of \(end) bytes")
        }
        #expect(Self.read(bytes)?.count == 3)
    }
}
