import SENSTestSupport
import Testing

@testable import GatewayHTTP

@Suite struct RecipientReaderTests {
    /// What reading a body gives: the recipients emitted, and the error that stopped the reading (if any).
    struct Outcome: Equatable {
        var recipients: [FilterRecipient]
        var error: FilterBodyError?
    }

    // MARK: Plain text

    @Test func plainTextSkipsTheBOMLineEndsAndBlankLines() {
        let body: [UInt8] =
            [0xEF, 0xBB, 0xBF] + Array("010-1111-2222\r\n\r\n  \t \r\n 010 2222 3333 \n\n+82 10 3333 4444".utf8)
        #expect(
            plain(body)
                == ok([
                    recipient(0, line: 1, "010-1111-2222"),
                    recipient(1, line: 4, " 010 2222 3333 "),
                    recipient(2, line: 6, "+82 10 3333 4444"),
                ])
        )
    }

    @Test func plainTextReaderKeepsInvalidUTF8AsReplacementCharacters() {
        // The reader alone (the decoder before it refuses such bytes); a CR alone ends a line too.
        let body: [UInt8] = [0xEF, 0x41, 0x0A, 0x30, 0xFF, 0x31, 0x0D, 0x0A, 0x61, 0x0D, 0x62]
        #expect(
            plain(body)
                == ok([
                    recipient(0, line: 1, "\u{FFFD}A"),  // the start of a BOM that is not one is text
                    recipient(1, line: 2, "0\u{FFFD}1"),
                    recipient(2, line: 3, "a"),
                    recipient(3, line: 4, "b"),
                ])
        )
    }

    @Test func plainTextWithoutRecipients() {
        #expect(plain([]) == ok([]))
        #expect(plain([0xEF, 0xBB, 0xBF]) == ok([]))
        #expect(plain(Array("\n \r\n\t\n".utf8)) == ok([]))
    }

    @Test func plainTextRefusesTooManyRecipients() {
        #expect(plain(Array("1\n\n2\n".utf8), max: 2) == ok([recipient(0, line: 1, "1"), recipient(1, line: 3, "2")]))
        #expect(
            plain(Array("1\n2\n3\n4".utf8), max: 2)
                == failed(
                    .tooManyRecipients(limit: 2),
                    after: [recipient(0, line: 1, "1"), recipient(1, line: 2, "2")]
                )
        )
    }

    @Test func aLineMayHoldOneMebibyte() {
        let longest = String(repeating: "1", count: 1_048_576)
        #expect(
            plain(Array((longest + "\r\n2").utf8)) == ok([recipient(0, line: 1, longest), recipient(1, line: 2, "2")])
        )
        let tooLong = "phone\n" + longest + "1\n3\n"
        #expect(csv(tooLong) == failed(.malformed("line 2: longer than 1048576 bytes")))
    }

    // MARK: CSV

    @Test func csvHeaderIsDetectedByTheAbsenceOfDigits() {
        #expect(
            csv("phone,name\n010-1234-5678,Kim\n01099998888,Lee\n")
                == ok([
                    recipient(0, line: 2, "010-1234-5678"),
                    recipient(1, line: 3, "01099998888"),
                ])
        )
        #expect(
            csv("010-1234-5678,Kim\r\n+82 10 9999 8888\r\n")
                == ok([
                    recipient(0, line: 1, "010-1234-5678"),
                    recipient(1, line: 2, "+82 10 9999 8888"),
                ])
        )
        // Blank records before the header are skipped; they still count as lines.
        #expect(csv("\n,,\nphone\n010\n") == ok([recipient(0, line: 4, "010")]))
        #expect(csv("phone\n") == ok([]))
    }

    /// A first row of full-width digits is a recipient: taken for a header, it would appear in no list of the
    /// answer, and a caller that sends to whatever is not listed would message it.
    @Test func csvFirstRowInOtherDigitsIsARecipient() {
        #expect(
            csv("０１０-５０００-０１００,Kim\n010-1234-5678,Lee\n")
                == ok([
                    recipient(0, line: 1, "０１０-５０００-０１００"),
                    recipient(1, line: 2, "010-1234-5678"),
                ])
        )
        #expect(csv("٠١٠١٢٣٤٥٦٧٨\n") == ok([recipient(0, line: 1, "٠١٠١٢٣٤٥٦٧٨")]), "Arabic-Indic digits")
    }

    @Test func csvHeaderInALegacyEncodingIsStillAHeader() {
        let eucKRHeader: [UInt8] = [0xC0, 0xFC, 0xC8, 0xAD, 0xB9, 0xF8, 0xC8, 0xA3]  // 전화번호 in EUC-KR
        let body = eucKRHeader + Array("\r\n010-1111-2222\r\n".utf8)
        #expect(
            read(
                body,
                with: LineRecipientReader(format: .csv(column: nil, separator: .commaUnlessTabbed), maxRecipients: 10)
            )
                == ok([
                    recipient(0, line: 2, "010-1111-2222")
                ])
        )
    }

    @Test func csvColumnIsChosenByItsHeaderName() {
        #expect(
            csv("name, phone ,memo\nKim,010-1111-2222,a\nLee,\"010-3333-4444\",b\n", column: "phone")
                == ok([
                    recipient(0, line: 2, "010-1111-2222"),
                    recipient(1, line: 3, "010-3333-4444"),
                ])
        )
        // A header field may be quoted; the BOM is not part of the first name.
        let body: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("\"phone\",\"name\"\n010,Kim\n".utf8)
        #expect(
            read(
                body,
                with: LineRecipientReader(
                    format: .csv(column: "phone", separator: .commaUnlessTabbed),
                    maxRecipients: 10
                )
            )
                == ok([
                    recipient(0, line: 2, "010")
                ])
        )
    }

    @Test func csvQuotedFields() {
        let body =
            "name,phone\n"
            + "\"Kim, A\",010-1\n"
            + "\"Multi\nline\",010-2\n"
            + "Lee,\"010 \"\"3\"\"\"\n"
            + "Park,\"010\n4\"\n"
            + "Choi,\"010\r\n5\"\r\n"
            + "Jung,010-6\n"
            + "Han,\"010\"-7\n"
            + "Yoon,01\"0-8"
        #expect(
            csv(body, column: "phone")
                == ok([
                    recipient(0, line: 2, "010-1"),
                    recipient(1, line: 3, "010-2"),  // the record starts on line 3 and ends on line 4
                    recipient(2, line: 5, "010 \"3\""),
                    recipient(3, line: 6, "010\n4"),
                    recipient(4, line: 8, "010\r\n5"),  // a CR inside quotes is kept
                    recipient(5, line: 10, "010-6"),
                    recipient(6, line: 11, "010-7"),  // what follows a closing quote is kept
                    recipient(7, line: 12, "01\"0-8"),  // a quote inside an unquoted field is kept
                ])
        )
        // A quoted field closed on the body's last line, which has no line end.
        #expect(csv("\"010\n1\"") == ok([recipient(0, line: 1, "010\n1")]))
    }

    @Test func csvShortAndBlankRecords() {
        let body = "name,phone\nKim\n,,\n ,\t\nLee,010\n\"\",\"\"\nPark,\n"
        #expect(
            csv(body, column: "phone")
                == ok([
                    recipient(0, line: 2, ""),  // too few fields: an invalid recipient
                    recipient(1, line: 5, "010"),
                    recipient(2, line: 7, ""),
                ])
        )
    }

    @Test func csvMissingColumnNamesTheColumns() {
        #expect(
            csv("name,tel\nKim,010\n", column: "phone")
                == failed(
                    .malformed("line 1: no column named \"phone\" in the header (columns: name, tel)")
                )
        )
        #expect(
            csv("\n\n\"name\", tel \n", column: "Phone")
                == failed(
                    .malformed("line 3: no column named \"Phone\" in the header (columns: name, tel)")
                )
        )
        let names = (1...25).map { "c\($0)" + String(repeating: "x", count: 70) }
        let name = String(repeating: "n", count: 100)
        let listed = names.prefix(20).map { String($0.prefix(64)) }.joined(separator: ", ")
        #expect(
            csv(names.joined(separator: ",") + "\n010\n", column: name)
                == failed(
                    .malformed(
                        "line 1: no column named \"\(String(repeating: "n", count: 64))\" in the header (columns: \(listed))"
                    )
                )
        )
    }

    @Test func csvRefusesTwoColumnsOfTheNameAskedFor() {
        #expect(
            csv("이름,휴대폰,휴대폰\nKim,010-1234-5678,010-9999-8888\n", column: "휴대폰")
                == failed(
                    .malformed(
                        "line 1: 2 columns are named \"휴대폰\" (columns 2, 3); rename one so that the name picks one column"
                    )
                )
        )
    }

    @Test func csvUnclosedQuote() {
        #expect(
            csv("phone\n010\n\"010\n")
                == failed(
                    .malformed("line 3: a quoted field is not closed"),
                    after: [recipient(0, line: 2, "010")]
                )
        )
        #expect(csv("\"010\n\n\n", column: nil) == failed(.malformed("line 1: a quoted field is not closed")))
    }

    @Test func csvRefusesTooManyRecipients() {
        #expect(csv("phone\n1\n2\n", max: 2) == ok([recipient(0, line: 2, "1"), recipient(1, line: 3, "2")]))
        #expect(
            csv("phone\n1\n2\n3", max: 2)
                == failed(
                    .tooManyRecipients(limit: 2),
                    after: [recipient(0, line: 2, "1"), recipient(1, line: 3, "2")]
                )
        )
    }

    @Test func csvOfTwoHundredThousandLines() {
        let count = 200_000
        var body = Array("name,phone,memo\n".utf8)
        var expected: [FilterRecipient] = []
        body.reserveCapacity(count * 32)
        expected.reserveCapacity(count)
        for index in 0..<count {
            let phone = "010" + String(10_000_000 + index)
            // Some phones quoted, some lines ended with CRLF.
            let field = index % 1000 == 7 ? "\"\(phone)\"" : phone
            body.append(contentsOf: "Kim \(index),\(field),memo \(index)\(index % 3 == 0 ? "\r\n" : "\n")".utf8)
            expected.append(recipient(index, line: index + 2, phone))
        }
        let outcome = read(
            body,
            with: LineRecipientReader(
                format: .csv(column: "phone", separator: .commaUnlessTabbed),
                maxRecipients: 1_000_000
            )
        )
        #expect(outcome.error == nil)
        #expect(outcome.recipients.count == count)
        #expect(outcome.recipients == expected)
    }

    // MARK: JSON

    @Test func jsonDecodesStringEscapes() {
        let body =
            #"{"phoneNumbers": ["010-1234-5678", "\u0030\u00310", "a\"b\\c\/d\b\f\n\r\t", "\ud83d\ude00", "\ud83dx", "\udc00", "한국", "\ud83d\ud83d\ude00", "\ud83d\n", "\u00E9"]}"#
        #expect(
            json(body)
                == ok([
                    recipient(0, line: nil, "010-1234-5678"),
                    recipient(1, line: nil, "010"),
                    recipient(2, line: nil, "a\"b\\c/d\u{08}\u{0C}\n\r\t"),
                    recipient(3, line: nil, "\u{1F600}"),
                    recipient(4, line: nil, "\u{FFFD}x"),
                    recipient(5, line: nil, "\u{FFFD}"),
                    recipient(6, line: nil, "한국"),
                    recipient(7, line: nil, "\u{FFFD}\u{1F600}"),
                    recipient(8, line: nil, "\u{FFFD}\n"),
                    recipient(9, line: nil, "\u{E9}"),
                ])
        )
    }

    @Test func jsonKeepsInvalidUTF8AsReplacementCharacters() {
        let body = Array(#"{"phoneNumbers":["0"#.utf8) + [0xFF] + Array(#"1"]}"#.utf8)
        #expect(read(body, with: JSONRecipientReader(maxRecipients: 10)) == ok([recipient(0, line: nil, "0\u{FFFD}1")]))
    }

    @Test func jsonToleratesWhitespaceAndABOM() {
        let body: [UInt8] =
            [0xEF, 0xBB, 0xBF] + Array(" \n\t{ \r\n \"phoneNumbers\" \n : \t [ \"1\" , \"2\" ] \n } \n".utf8)
        #expect(
            read(body, with: JSONRecipientReader(maxRecipients: 10))
                == ok([
                    recipient(0, line: nil, "1"),
                    recipient(1, line: nil, "2"),
                ])
        )
        // The key may be written with escapes.
        #expect(json(#"{"phone\u004Eumbers":["1"]}"#) == ok([recipient(0, line: nil, "1")]))
    }

    @Test func jsonEmptyArrayHasNoRecipients() {
        #expect(json(#"{"phoneNumbers":[]}"#) == ok([]))
        #expect(json(#" { "phoneNumbers" : [ ] } "#) == ok([]))
    }

    @Test func jsonRefusesOtherKeys() {
        #expect(
            json(#"{"phoneNumbers":["1"],"extra":1}"#)
                == failed(
                    .malformed("extra: unknown field; the body takes phoneNumbers"),
                    after: [recipient(0, line: nil, "1")]
                )
        )
        #expect(json(#"{"ph\u006fne":[]}"#) == failed(.malformed("phone: unknown field; the body takes phoneNumbers")))
        let key = String(repeating: "k", count: 100)
        #expect(
            json("{\"\(key)\":[]}")
                == failed(
                    .malformed("\(String(repeating: "k", count: 64)): unknown field; the body takes phoneNumbers")
                )
        )
    }

    @Test func jsonRefusesARepeatedKey() {
        #expect(
            json(#"{"phoneNumbers":["1"],"phoneNumbers":["2"]}"#)
                == failed(
                    .malformed("phoneNumbers: the key appears more than once"),
                    after: [recipient(0, line: nil, "1")]
                )
        )
    }

    @Test func jsonRefusesWhatIsNotAnArrayOfStrings() {
        #expect(
            json(#"{"phoneNumbers":["1","2",3,"4"]}"#)
                == failed(
                    .malformed("phoneNumbers[2]: expected a string"),
                    after: [recipient(0, line: nil, "1"), recipient(1, line: nil, "2")]
                )
        )
        #expect(json(#"{"phoneNumbers":[null]}"#) == failed(.malformed("phoneNumbers[0]: expected a string")))
        #expect(
            json(#"{"phoneNumbers":["1",["2"]]}"#)
                == failed(
                    .malformed("phoneNumbers[1]: expected a string"),
                    after: [recipient(0, line: nil, "1")]
                )
        )
        #expect(json(#"{"phoneNumbers":"010"}"#) == failed(.malformed("phoneNumbers: expected an array")))
        #expect(json(#"{}"#) == failed(.malformed("phoneNumbers: is required")))
        #expect(json(#"["010"]"#) == failed(.malformed("the body: expected an object")))
        #expect(json(#""010""#) == failed(.malformed("the body: expected an object")))
    }

    @Test func jsonRefusesInvalidSyntax() {
        #expect(json("x") == failed(.malformed("the body is not valid JSON (at byte 0)")))
        #expect(json(#"{"phoneNumbers" ["1"]}"#) == failed(.malformed("the body is not valid JSON (at byte 16)")))
        #expect(
            json(#"{"phoneNumbers":["1",]}"#)
                == failed(
                    .malformed("the body is not valid JSON (at byte 21)"),
                    after: [recipient(0, line: nil, "1")]
                )
        )
        #expect(
            json(#"{"phoneNumbers":["1" "2"]}"#)
                == failed(
                    .malformed("the body is not valid JSON (at byte 21)"),
                    after: [recipient(0, line: nil, "1")]
                )
        )
        #expect(json(#"{"phoneNumbers":["a\qb"]}"#) == failed(.malformed("the body is not valid JSON (at byte 20)")))
        #expect(json("{\"phoneNumbers\":[\"a\nb\"]}") == failed(.malformed("the body is not valid JSON (at byte 19)")))
        #expect(json(#"{"phoneNumbers":["\u12G4"]}"#) == failed(.malformed("the body is not valid JSON (at byte 22)")))
        // Positions count the BOM.
        let withBOM: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(#"{"phoneNumbers" ["1"]}"#.utf8)
        #expect(
            read(withBOM, with: JSONRecipientReader(maxRecipients: 10))
                == failed(
                    .malformed("the body is not valid JSON (at byte 19)")
                )
        )
        let halfBOM: [UInt8] = [0xEF, 0xBB] + Array("{}".utf8)
        #expect(
            read(halfBOM, with: JSONRecipientReader(maxRecipients: 10))
                == failed(
                    .malformed("the body is not valid JSON (at byte 2)")
                )
        )
    }

    @Test func jsonRefusesTrailingGarbage() {
        #expect(json(#"{"phoneNumbers":[]} x"#) == failed(.malformed("the body is not valid JSON (at byte 20)")))
        #expect(
            json(#"{"phoneNumbers":["1"]}{}"#)
                == failed(
                    .malformed("the body is not valid JSON (at byte 22)"),
                    after: [recipient(0, line: nil, "1")]
                )
        )
        #expect(json("{\"phoneNumbers\":[]} \r\n\t ") == ok([]))
    }

    @Test func jsonThatEndsEarly() {
        let early = FilterBodyError.malformed("the body is not valid JSON (it ends early)")
        #expect(json("") == failed(early))
        #expect(json("  \n") == failed(early))
        #expect(read([0xEF, 0xBB, 0xBF], with: JSONRecipientReader(maxRecipients: 10)) == failed(early))
        #expect(json(#"{"phoneNumbers":["010"#) == failed(early))
        #expect(json(#"{"phoneNumbers":["1\u00"#) == failed(early))
        #expect(json(#"{"phoneNumbers":["1"]"#) == failed(early, after: [recipient(0, line: nil, "1")]))
    }

    @Test func jsonRefusesTooManyRecipients() {
        #expect(
            json(#"{"phoneNumbers":["1","2"]}"#, max: 2)
                == ok([recipient(0, line: nil, "1"), recipient(1, line: nil, "2")])
        )
        #expect(
            json(#"{"phoneNumbers":["1","2","3"]}"#, max: 2)
                == failed(
                    .tooManyRecipients(limit: 2),
                    after: [recipient(0, line: nil, "1"), recipient(1, line: nil, "2")]
                )
        )
    }

    @Test func aJSONStringMayHoldOneMebibyte() {
        let longest = String(repeating: "1", count: 1_048_576)
        #expect(json("{\"phoneNumbers\":[\"\(longest)\"]}") == ok([recipient(0, line: nil, longest)]))
        #expect(
            json("{\"phoneNumbers\":[\"1\",\"\(longest)1\"]}")
                == failed(
                    .malformed("phoneNumbers[1]: longer than 1048576 bytes"),
                    after: [recipient(0, line: nil, "1")]
                )
        )
    }

    // MARK: Helpers

    private func recipient(_ index: Int, line: Int?, _ input: String) -> FilterRecipient {
        FilterRecipient(index: index, line: line, input: input)
    }

    private func ok(_ recipients: [FilterRecipient]) -> Outcome {
        Outcome(recipients: recipients, error: nil)
    }

    private func failed(_ error: FilterBodyError, after recipients: [FilterRecipient] = []) -> Outcome {
        Outcome(recipients: recipients, error: error)
    }

    private func plain(_ body: [UInt8], max: Int = 1_000_000) -> Outcome {
        read(body, with: LineRecipientReader(format: .plain, maxRecipients: max))
    }

    private func csv(_ body: String, column: String? = nil, max: Int = 1_000_000) -> Outcome {
        read(
            Array(body.utf8),
            with: LineRecipientReader(format: .csv(column: column, separator: .commaUnlessTabbed), maxRecipients: max)
        )
    }

    private func json(_ body: String, max: Int = 1_000_000) -> Outcome {
        read(Array(body.utf8), with: JSONRecipientReader(maxRecipients: max))
    }

    /// Reads `body` whole and cut into chunks every way `splittings` gives, expects the same outcome each way,
    /// and returns it.
    private func read<Reader: RecipientReader>(
        _ body: [UInt8],
        with reader: Reader,
        decoding charset: TextCharset?? = .none,
        cells: Bool = false
    ) -> Outcome {
        let whole = Self.outcome(of: body, in: [0..<body.count], with: reader, decoding: charset, cells: cells)
        for chunks in Self.splittings(of: body.count) {
            let outcome = Self.outcome(of: body, in: chunks, with: reader, decoding: charset, cells: cells)
            guard outcome == whole else {
                let sizes = chunks.count <= 8 ? "\(chunks.map(\.count))" : "\(chunks.count) chunks"
                Issue.record(
                    """
                    read in \(sizes): \(Self.describe(outcome, against: whole)); \
                    read whole: \(Self.describe(whole, against: outcome))
                    """
                )
                break
            }
        }
        return whole
    }

    /// The ways of cutting a body of `count` bytes into chunks: for a small body, in two at every point (with an
    /// empty chunk at the cut) and a byte at a time; for a larger one, into chunks of random sizes.
    private static func splittings(of count: Int) -> [[Range<Int>]] {
        guard count > 300 else {
            var ways = (0...count).map { cut in [0..<cut, cut..<cut, cut..<count] }
            ways.append((0..<count).map { $0..<$0 + 1 })
            return ways
        }
        var generator = SeededGenerator(seed: UInt64(count))
        let largest = max(2, min(65_536, count / 16))
        return (0..<4).map { _ in
            var chunks: [Range<Int>] = []
            var start = 0
            while start < count {
                let end = min(count, start + Int.random(in: 1...largest, using: &generator))
                chunks.append(start..<end)
                start = end
            }
            return chunks
        }
    }

    /// `decoding`: through a `TextBodyDecoder` declared with that charset (`.some(nil)`: detecting), or none.
    /// `cells`: keep each recipient's cells and column (else only its index, line and input are compared).
    private static func outcome<Reader: RecipientReader>(
        of body: [UInt8],
        in chunks: [Range<Int>],
        with reader: Reader,
        decoding charset: TextCharset??,
        cells: Bool
    ) -> Outcome {
        var reader = reader
        var decoder = charset.map { TextBodyDecoder(declared: $0)! }
        var recipients: [FilterRecipient] = []
        func keep(_ recipient: FilterRecipient) {
            recipients.append(
                cells
                    ? recipient : FilterRecipient(index: recipient.index, line: recipient.line, input: recipient.input)
            )
        }
        let result: Result<Void, FilterBodyError> = body.withUnsafeBytes { bytes in
            Result { () throws(FilterBodyError) in
                for chunk in chunks {
                    let chunkBytes = UnsafeRawBufferPointer(rebasing: bytes[chunk])
                    if decoder != nil {
                        try decoder!.decode(chunkBytes) { (text) throws(FilterBodyError) in
                            try reader.read(text, emit: keep)
                        }
                    } else {
                        try reader.read(chunkBytes, emit: keep)
                    }
                }
                try decoder?.finish { (text) throws(FilterBodyError) in try reader.read(text, emit: keep) }
                try reader.finish(emit: keep)
            }
        }
        switch result {
        case .success: return Outcome(recipients: recipients, error: nil)
        case .failure(let error): return Outcome(recipients: recipients, error: error)
        }
    }

    /// A short account of `outcome`: its count, error and first recipient that differs from `other`'s.
    private static func describe(_ outcome: Outcome, against other: Outcome) -> String {
        let differing =
            zip(outcome.recipients, other.recipients).first { $0 != $1 }?.0
            ?? outcome.recipients.dropFirst(other.recipients.count).first
        let error = outcome.error.map { "\($0)" } ?? "no error"
        return
            "\(outcome.recipients.count) recipients, \(error), first differing: \(differing.map { "\($0)" } ?? "none")"
    }
}

// MARK: Files as spreadsheets save them: CR line ends, tabs, CP949

extension RecipientReaderTests {
    private func cp949(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        let converter = Iconv(from: "UTF-8", to: "CP949")!
        let (_, stop) = Array(text.utf8).withUnsafeBytes { converter.convert($0, into: &out) }
        #expect(stop == .done)
        return out
    }

    private func rows(_ body: [UInt8], _ format: LineRecipientReader.Format, decoding: TextCharset??) -> Outcome {
        read(
            body,
            with: LineRecipientReader(format: format, maxRecipients: 1_000_000, keepsCells: true),
            decoding: decoding,
            cells: true
        )
    }

    @Test func carriageReturnsAloneEndLines() {
        #expect(
            csv("phone\r010-1111-2222\r\r\"010\r2222\",x\r010-3333-4444", column: "phone")
                == ok([
                    recipient(0, line: 2, "010-1111-2222"),
                    // A quoted field keeps its line end; the record is read from the line it starts on.
                    recipient(1, line: 4, "010\r2222"),
                    recipient(2, line: 6, "010-3333-4444"),
                ])
        )
        #expect(
            plain(Array("1\r\r\n2\n\r3\r".utf8))
                == ok([
                    recipient(0, line: 1, "1"), recipient(1, line: 3, "2"), recipient(2, line: 5, "3"),
                ])
        )
    }

    @Test func tabSeparatedFilesAreReadWithTheirCells() {
        let tsv = Array("이름\t휴대폰\t메모\n김민준\t010-1111-2222\t\"a, b\"\n\n이서연\t010 3333 4444\t\n".utf8)
        let expected = ok([
            FilterRecipient(
                index: 0,
                line: 2,
                input: "010-1111-2222",
                cells: ["김민준", "010-1111-2222", "a, b"],
                column: 1
            ),
            FilterRecipient(index: 1, line: 4, input: "010 3333 4444", cells: ["이서연", "010 3333 4444", ""], column: 1),
        ])
        #expect(rows(tsv, .csv(column: "휴대폰", separator: .tab), decoding: .none) == expected)
        // Sent as text/csv: a first line with tabs and no comma makes it tab-separated.
        #expect(rows(tsv, .csv(column: "휴대폰", separator: .commaUnlessTabbed), decoding: .none) == expected)
        // A first line with a comma keeps commas.
        #expect(
            rows(
                Array("a,b\tc\n010-1111-2222,x\ty\n".utf8),
                .csv(column: nil, separator: .commaUnlessTabbed),
                decoding: .none
            )
                == ok([FilterRecipient(index: 0, line: 2, input: "010-1111-2222", cells: ["010-1111-2222", "x\ty"])])
        )
    }

    @Test func cp949FilesAreReadDeclaredOrNot() {
        let text = "이름,휴대폰,등급\r\n김민준,010-1111-2222,VIP\r\n\"박, 지호\",010-3333-4444,일반\r\n"
        let expected = ok([
            FilterRecipient(
                index: 0,
                line: 2,
                input: "010-1111-2222",
                cells: ["김민준", "010-1111-2222", "VIP"],
                column: 1
            ),
            FilterRecipient(
                index: 1,
                line: 3,
                input: "010-3333-4444",
                cells: ["박, 지호", "010-3333-4444", "일반"],
                column: 1
            ),
        ])
        let format = LineRecipientReader.Format.csv(column: "휴대폰", separator: .commaUnlessTabbed)
        #expect(rows(cp949(text), format, decoding: .some(.cp949)) == expected)
        #expect(rows(cp949(text), format, decoding: .some(nil)) == expected)
        #expect(rows(Array(text.utf8), format, decoding: .some(nil)) == expected)
        #expect(rows(Array(text.utf8), format, decoding: .some(.utf8)) == expected)
    }

    @Test func bytesOutsideTheEncodingAreRefusedNeverGuessed() {
        let format = LineRecipientReader.Format.csv(column: nil, separator: .commaUnlessTabbed)
        // UTF-8 for more than the detection window, then CP949 on line 101: the first 100 lines are read, then the
        // body is refused.
        let mixed = Array(String(repeating: "010-1111-2222,가\n", count: 100).utf8) + cp949("010-3333-4444,나\n")
        let outcome = rows(mixed, format, decoding: .some(nil))
        #expect(outcome.recipients.count == 100)
        guard case .undecodable(let detail) = outcome.error else {
            Issue.record("expected undecodable, got \(String(describing: outcome.error))")
            return
        }
        #expect(detail.contains("read as UTF-8"))
        // Within the window, the mixed bytes are neither.
        let short = rows(Array("010-1111-2222,가\n".utf8) + cp949("010-3333-4444,나\n"), format, decoding: .some(nil))
        #expect(short.recipients.map(\.line) == [1])
        #expect(
            short.error.map { if case .undecodable(let text) = $0 { text.contains("neither") } else { false } } == true
        )
        // Declared UTF-8, CP949 bytes: refused, saying to declare CP949.
        guard case .undecodable(let declared) = rows(cp949("가,010-1111-2222\n"), format, decoding: .some(.utf8)).error
        else {
            Issue.record("expected undecodable")
            return
        }
        #expect(declared.contains("charset=cp949"))
        // Neither UTF-8 nor CP949 (0xFF is a lead byte in neither).
        let neither = rows(Array("010-1111-2222\n".utf8) + [0xFF, 0xFF, 0x0A], format, decoding: .some(nil))
        #expect(neither.recipients.map(\.line) == [1])
        #expect(neither.error.map { if case .undecodable = $0 { true } else { false } } == true)
        // A body that ends inside a character.
        #expect(rows(Array("0101111222".utf8) + [0xEA, 0xB0], format, decoding: .some(.utf8)).error != nil)
    }
}
