import Foundation
import GatewayAPI
import HTTPTypes
import SENSCore
import SENSGateway
import SENSTestSupport
import Testing

@testable import GatewayHTTP

/// The filter with the files marketers have: Excel's CP949 CSV with Korean headers and names, TSV, CR-only line
/// ends, numbers Excel damaged, repeats, quoted line breaks. Files are made by a seeded generator that knows what
/// each row is; every answer (JSON, the rows to send to, the rows left out, CP949) is checked against it as sets:
/// no opted-out number in any allowed output, every line accounted for once.
@Suite("Filter: marketers' files, and the export", .serialized)
struct FilterFilesTests {
    /// What a generated row is meant to be.
    enum Kind: CaseIterable, Sendable {
        case optedOut, allowed, strippedAllowed, strippedOptedOut, scientific, invalid, repeatOfAllowed
    }

    struct Row: Sendable {
        var kind: Kind
        var cells: [String]
        /// The number the row stands for (nil: none), normalized.
        var number: String?
        /// Its first line in the body.
        var line = 0
    }

    /// A file: its rows and how it is written.
    struct File: Sendable {
        var rows: [Row]
        var header = ["이름", "휴대폰", "등급", "메모"]
        var tabs: Bool
        var lineEnd: String
        var cp949: Bool

        /// The bytes, and each row's line filled in.
        mutating func bytes() -> [UInt8] {
            let separator = tabs ? "\t" : ","
            func cell(_ text: String) -> String {
                text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\t" })
                    ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
            }
            var text = header.map(cell).joined(separator: separator) + lineEnd
            var line = 2
            for index in rows.indices {
                if index % 7 == 3 {
                    text += lineEnd  // a blank line
                    line += 1
                }
                rows[index].line = line
                let record = rows[index].cells.map(cell).joined(separator: separator)
                text += record + lineEnd
                line += 1 + record.filter { $0 == "\n" }.count
            }
            return cp949 ? Self.encodeCP949(text) : Array(text.utf8)
        }

        static func encodeCP949(_ text: String) -> [UInt8] {
            var out: [UInt8] = []
            let converter = Iconv(from: "UTF-8", to: "CP949")!
            _ = Array(text.utf8).withUnsafeBytes { converter.convert($0, into: &out) }
            return out
        }
    }

    static let names = ["김민준", "이서연", "박지호", "최유나", "정하늘", "강도윤", "윤서아", "장예준"]

    /// Seeded rows: the mirror lists 01050000000…01050000099.
    static func rows(count: Int, using generator: inout SeededGenerator) -> [Row] {
        var rows: [Row] = []
        var allowedNumbers: [String] = []
        for index in 0..<count {
            let kind = Kind.allCases.randomElement(using: &generator)!
            let name = names.randomElement(using: &generator)!
            let memo =
                [
                    "", "VIP 고객", "메모, 쉼표", "줄\n바꿈", "따옴표 \"인용\"",
                ].randomElement(using: &generator)!
            var phone: String
            var number: String?
            var actualKind = kind
            switch kind {
            case .optedOut:
                let n = String(format: "%02d", Int.random(in: 0..<100, using: &generator))
                phone = "010-5000-00\(n)"
                number = "010500000\(n)"
            case .allowed,
                .repeatOfAllowed where allowedNumbers.isEmpty:
                let digits = "0107" + String(format: "%07d", index)
                phone = [
                    "010-7\(digits.dropFirst(4).prefix(3))-\(digits.suffix(4))", digits, "+82 " + digits.dropFirst(),
                ]
                .randomElement(using: &generator)!
                number = digits
                allowedNumbers.append(digits)
                actualKind = .allowed
            case .repeatOfAllowed:
                number = allowedNumbers.randomElement(using: &generator)!
                phone = number!
            case .strippedAllowed:
                let digits = "0108" + String(format: "%07d", index)
                phone = String(digits.dropFirst())
                number = digits
            case .strippedOptedOut:
                let n = String(format: "%02d", Int.random(in: 0..<100, using: &generator))
                phone = "10500000\(n)"
                number = "010500000\(n)"
            case .scientific:
                phone = "1.07E+10"
            case .invalid:
                phone = ["abc", "02-123", "+1 212 555 1234"].randomElement(using: &generator)!
            }
            rows.append(Row(kind: actualKind, cells: [name, phone, "등급\(index % 3)", memo], number: number))
        }
        return rows
    }

    /// RFC 4180 records of a CSV answer (commas, CRLF, quotes).
    static func parseCSV(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(text.unicodeScalars)[...]
        if characters.first == "\u{FEFF}" { characters = characters.dropFirst() }
        var iterator = characters.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let scalar = pending {
                pending = nil
                return scalar
            }
            return iterator.next()
        }
        while let scalar = next() {
            if quoted {
                if scalar == "\"" {
                    let following = next()
                    if following == "\"" {
                        field.unicodeScalars.append("\"")
                    } else {
                        quoted = false
                        pending = following
                    }
                } else {
                    field.unicodeScalars.append(scalar)
                }
            } else if scalar == "\"" && field.isEmpty {
                quoted = true
            } else if scalar == "," {
                record.append(field)
                field = ""
            } else if scalar == "\r" {
                continue
            } else if scalar == "\n" {
                record.append(field)
                records.append(record)
                record = []
                field = ""
            } else {
                field.unicodeScalars.append(scalar)
            }
        }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        return records
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6]) func generatedFilesAreSortedExactly(seed: UInt64) async throws {
        var generator = SeededGenerator(seed: seed)
        let optedOut = Set((0..<100).map { String(format: "010500000%02d", $0) })
        struct Round: Sendable {
            var file: File
            var body: [UInt8]
            var repair: Bool
            var dedupe: Bool
            var contentType: String
        }
        var rounds: [Round] = []
        for _ in 0..<3 {
            var file = File(
                rows: Self.rows(count: Int.random(in: 20...400, using: &generator), using: &generator),
                tabs: Bool.random(using: &generator),
                lineEnd: ["\r\n", "\n", "\r"].randomElement(using: &generator)!,
                cp949: Bool.random(using: &generator)
            )
            let body = file.bytes()
            let declared = Bool.random(using: &generator)
            let mediaType = file.tabs && Bool.random(using: &generator) ? "text/tab-separated-values" : "text/csv"
            rounds.append(
                Round(
                    file: file,
                    body: body,
                    repair: Bool.random(using: &generator),
                    dedupe: Bool.random(using: &generator),
                    contentType: mediaType + (declared ? (file.cp949 ? "; charset=euc-kr" : "; charset=utf-8") : "")
                )
            )
        }
        let planned = rounds
        try await MirrorAPITests().withReadyGateway(.sqlite) { gateway, _ in
            for (round, plan) in planned.enumerated() {
                let file = plan.file
                let body = plan.body
                let repair = plan.repair
                let dedupe = plan.dedupe
                let contentType = plan.contentType
                let what = "seed \(seed) round \(round): \(contentType), tabs \(file.tabs), repair \(repair)"
                var query = "?column=%ED%9C%B4%EB%8C%80%ED%8F%B0"
                if repair { query += "&repair=leading-zero" }

                // The model: what each row must come out as.
                func sendable(_ row: Row) -> Bool {
                    switch row.kind {
                    case .allowed, .repeatOfAllowed: true
                    case .strippedAllowed: repair
                    default: false
                    }
                }
                func excluded(_ row: Row) -> String? {
                    switch row.kind {
                    case .optedOut: "opted_out"
                    case .strippedOptedOut: repair ? "opted_out" : "leading_zero_lost"
                    case .strippedAllowed: repair ? nil : "leading_zero_lost"
                    case .scientific: "scientific_notation"
                    case .invalid: "invalid"
                    case .allowed, .repeatOfAllowed: nil
                    }
                }

                // JSON: every line accounted for.
                let json = try await gateway.send(
                    .post,
                    "/v1/unsubscribes/filter" + query,
                    bytes: body,
                    contentType: contentType
                )
                #expect(json.status == 200, "\(what): \(json.body.prefix(300))")
                let result = try json.decodeGenerated(Components.Schemas.FilterResult.self)
                #expect(result.checked == file.rows.count, "\(what)")
                #expect(result.header?.line == 1 && result.header?.cells == file.header, "\(what)")
                let readAs = json.headers[.init("X-Filter-Read-As")!] ?? ""
                #expect(readAs.hasPrefix(file.tabs ? "text/tab-separated-values" : "text/csv"), "\(what): \(readAs)")
                #expect(readAs.hasSuffix(file.cp949 ? "cp949" : "utf-8"), "\(what): \(readAs)")
                let optedOutLines = Set(result.optedOut.map { $0.line ?? 0 })
                let invalidLines = Set(result.invalid.map { $0.line ?? 0 })
                #expect(result.unverified.isEmpty)
                for row in file.rows {
                    let code = excluded(row)
                    if code == "opted_out" {
                        #expect(optedOutLines.contains(row.line), "\(what): line \(row.line) \(row.cells[1])")
                    } else if let code {
                        #expect(invalidLines.contains(row.line), "\(what): line \(row.line) \(row.cells[1])")
                        if code != "invalid" {
                            #expect(
                                result.invalid.first { $0.line == row.line }?.code.rawValue == code,
                                "\(what): line \(row.line)"
                            )
                        }
                    } else {
                        #expect(!optedOutLines.contains(row.line) && !invalidLines.contains(row.line), "\(what)")
                    }
                }
                #expect(optedOutLines.count + invalidLines.count == result.optedOut.count + result.invalid.count)
                if repair {
                    #expect(
                        Set(result.repaired?.compactMap(\.line) ?? [])
                            == Set(
                                file.rows.filter { $0.kind == .strippedAllowed || $0.kind == .strippedOptedOut }.map(
                                    \.line
                                )
                            ),
                        "\(what)"
                    )
                }

                // The rows to send to, and the rows left out: together every row, once.
                let accept = file.cp949 ? "text/csv; charset=cp949" : "text/csv"
                let dedupeQuery = dedupe ? "&dedupe=true" : ""
                let allowedAnswer = try await gateway.send(
                    .post,
                    "/v1/unsubscribes/filter" + query + dedupeQuery,
                    bytes: body,
                    contentType: contentType,
                    headers: [.accept: accept]
                )
                #expect(allowedAnswer.status == 200, "\(what): \(allowedAnswer.body.prefix(300))")
                let excludedAnswer = try await gateway.send(
                    .post,
                    "/v1/unsubscribes/filter" + query + dedupeQuery + "&rows=excluded",
                    bytes: body,
                    contentType: contentType,
                    headers: [.accept: accept]
                )
                #expect(excludedAnswer.status == 200, "\(what)")
                func text(_ answer: HTTPAnswer) -> String {
                    guard file.cp949 else { return answer.body }
                    var out: [UInt8] = []
                    let converter = Iconv(from: "CP949", to: "UTF-8")!
                    let (_, stop) = answer.bytes.withUnsafeBytes { converter.convert($0, into: &out) }
                    #expect(stop == .done, "\(what): the CP949 answer is CP949")
                    return String(decoding: out, as: UTF8.self)
                }
                let allowedRecords = Self.parseCSV(text(allowedAnswer))
                let excludedRecords = Self.parseCSV(text(excludedAnswer))
                #expect(allowedRecords.first == file.header, "\(what)")
                #expect(excludedRecords.first == file.header + ["reasonCode", "reason"], "\(what)")
                let sent = allowedRecords.dropFirst()
                let left = excludedRecords.dropFirst()
                #expect(sent.count + left.count == file.rows.count, "\(what): \(sent.count) + \(left.count)")
                // No opted-out number is in the rows to send to; every cell is kept.
                #expect(sent.allSatisfy { !optedOut.contains($0[1]) }, "\(what)")
                var expectedSent: [[String]] = []
                var seen: Set<String> = []
                var duplicates = 0
                for row in file.rows where sendable(row) {
                    if dedupe, !seen.insert(row.number!).inserted {
                        duplicates += 1
                        continue
                    }
                    expectedSent.append([row.cells[0], row.number!, row.cells[2], row.cells[3]])
                }
                #expect(Array(sent) == expectedSent, "\(what)")
                #expect(left.filter { $0[4] == "duplicate" }.count == duplicates, "\(what)")
                #expect(
                    left.filter { $0[4] != "duplicate" }.count
                        == file.rows.filter { excluded($0) != nil }.count,
                    "\(what)"
                )
                #expect(left.allSatisfy { $0.count == 6 && !$0[5].isEmpty }, "\(what)")
                #expect(left.allSatisfy { !["=", "+", "-", "@"].contains($0[5].first.map(String.init) ?? "") })
                if dedupe {
                    #expect(allowedAnswer.headers[.init("X-Filter-Duplicates")!] == String(duplicates), "\(what)")
                }
            }
        }
    }

    @Test func firstRowsInFullWidthDigitsAndOtherRefusals() async throws {
        try await MirrorAPITests().withReadyGateway(.sqlite) { gateway, _ in
            // A first row in full-width digits is a recipient (here, opted out), never a header.
            let fullWidth = try await gateway.filter("０１０-５０００-０１００\n010-5000-0001\n", contentType: "text/csv")
            let result = try fullWidth.decodeGenerated(Components.Schemas.FilterResult.self)
            #expect(result.header == nil && result.checked == 2)
            #expect(result.optedOut.map(\.line) == [2] && result.invalid.isEmpty)
            // (0100 is not among the seeded numbers, so the first is allowed: no line unaccounted for.)

            let latin1 = try await gateway.filter("a\n", contentType: "text/csv; charset=iso-8859-1")
            #expect(latin1.status == 415 && latin1.problem?.detail.contains("cp949") == true)
            let jsonInKorean = try await gateway.filter("{}", contentType: "application/json; charset=euc-kr")
            #expect(jsonInKorean.status == 415)
            let latin1Answer = try await gateway.filter(
                "010\n",
                contentType: "text/csv",
                accept: "text/csv; charset=latin1"
            )
            #expect(latin1Answer.status == 406)
            let rowsOfJSON = try await gateway.filter(
                "{\"phoneNumbers\":[]}",
                contentType: "application/json",
                query: "?rows=excluded",
                accept: "text/csv"
            )
            #expect(rowsOfJSON.status == 400 && rowsOfJSON.problem?.detail.hasPrefix("rows:") == true)
            let dedupeJSON = try await gateway.filter("010\n", contentType: "text/plain", query: "?dedupe=true")
            #expect(dedupeJSON.status == 400)
            let badRepair = try await gateway.filter("010\n", contentType: "text/plain", query: "?repair=all")
            #expect(badRepair.status == 400)
            // Bytes that are neither UTF-8 nor CP949: a 400 naming the line.
            let neither = try await gateway.send(
                .post,
                "/v1/unsubscribes/filter",
                bytes: Array("010-1111-2222\n010".utf8) + [0xFF, 0xFE, 0x0A],
                contentType: "text/plain"
            )
            #expect(neither.status == 400)
            #expect(neither.problem?.detail.hasPrefix("line 2: the body is neither UTF-8 nor CP949") == true)
            // Declared UTF-8, sent CP949: says to declare it.
            let mislabelled = try await gateway.send(
                .post,
                "/v1/unsubscribes/filter?column=%ED%9C%B4%EB%8C%80%ED%8F%B0",
                bytes: File.encodeCP949("이름,휴대폰\n김,010-1111-2222\n"),
                contentType: "text/csv; charset=utf-8"
            )
            #expect(mislabelled.status == 400 && mislabelled.problem?.detail.contains("charset=cp949") == true)
            // A cell CP949 cannot hold, asked for in CP949: 406.
            let emoji = try await gateway.filter(
                "휴대폰,이름\n010-1111-2222,🙂\n",
                contentType: "text/csv",
                accept: "text/csv; charset=cp949"
            )
            #expect(
                emoji.status == 406 && emoji.problem?.detail.contains("line 2") == true,
                "\(emoji.status) \(emoji.body)"
            )
            // Plain text with the CSV answer and dedupe: the numbers, each once.
            let numbers = try await gateway.filter(
                "010-1111-2222\n01011112222\n1022223333\n",
                contentType: "text/plain",
                query: "?dedupe=true&repair=leading-zero",
                accept: "text/csv"
            )
            #expect(numbers.body == "01011112222\n01022223333\n")
            #expect(numbers.headers[.init("X-Filter-Repaired")!] == "1")
            #expect(numbers.headers[.init("X-Filter-Duplicates")!] == "1")
            // A UTF-8 body with a BOM comes back with one.
            let bom = try await gateway.filter(
                "\u{FEFF}휴대폰,이름\n010-1111-2222,\"=1+1\"\n",
                contentType: "text/csv",
                accept: "text/csv"
            )
            #expect(bom.bytes.starts(with: [0xEF, 0xBB, 0xBF]))
            #expect(bom.body == "\u{FEFF}휴대폰,이름\r\n01011112222,=1+1\r\n")
            // In CP949, which has no BOM, without one.
            let bomToCP949 = try await gateway.filter(
                "\u{FEFF}휴대폰,이름\n010-1111-2222,김\n",
                contentType: "text/csv",
                accept: "text/csv; charset=cp949"
            )
            #expect(bomToCP949.status == 200, "\(bomToCP949.body)")
            #expect(bomToCP949.bytes == File.encodeCP949("휴대폰,이름\r\n01011112222,김\r\n"))
            // A stray quote joins lines into one record: counted, so the caller can see it.
            let stray = try await gateway.filter(
                "010-1111-2222\t\"Kim\n010-3333-4444\tLee\"\n",
                contentType: "text/tab-separated-values",
                accept: "text/csv"
            )
            #expect(stray.headers[.init("X-Filter-Multiline-Records")!] == "1")
            #expect(stray.headers[.init("X-Filter-Checked")!] == "1")
            // us-ascii is not read as UTF-8 under another name.
            #expect(try await gateway.filter("010\n", contentType: "text/plain; charset=us-ascii").status == 415)
        }
    }

    /// A number allowed in an early batch and opted out before the body ends: the answer is 503, never a list that
    /// allows a number the mirror holds. The body is sent in two parts around the register.
    @Test func aNumberOptedOutWhileTheBodyArrivesIsNeverAllowed() async throws {
        try await MirrorAPITests().withReadyGateway(.sqlite) { gateway, _ in
            let first = (0..<5_000).map { String(format: "0107%07d\n", $0) }.joined()
            let rest = (5_000..<6_000).map { String(format: "0107%07d\n", $0) }.joined()
            let connection = try RawHTTPConnection(port: try #require(gateway.port))
            try connection.send(
                "POST /v1/unsubscribes/filter HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nAccept: text/csv\r\n"
                    + "Content-Length: \(first.utf8.count + rest.utf8.count)\r\n\r\n" + first
            )
            // The first batch (4,096 recipients) is looked up once it is read; then 01070000007 is opted out.
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await gateway.post("/v1/unsubscribes", phoneNumbers: ["01070000007"]).status == 200)
            try connection.send(rest)
            let answer = try await connection.read(until: "}")
            #expect(answer.hasPrefix("HTTP/1.1 503 "), "\(answer.prefix(300))")
            #expect(answer.contains("filter again"))
            // Asked again, it is listed.
            let again = try await gateway.filter(first + rest, contentType: "text/plain", accept: "text/csv")
            #expect(again.status == 200 && !again.body.contains("01070000007"))
            #expect(again.headers[.init("X-Filter-Opted-Out")!] == "1")
        }
    }

    @Test func exportsTheWholeListAsCSVAndJSONLines() async throws {
        try await MirrorAPITests().withReadyGateway(.sqlite) { gateway, _ in
            let csv = try await gateway.send(.get, "/v1/unsubscribes/export")
            #expect(csv.status == 200)
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(csv.headers[.init("X-Export-Records")!] == "100")
            #expect(csv.headers[.init("X-Mirror-As-Of")!] != nil)
            #expect(csv.bytes.starts(with: [0xEF, 0xBB, 0xBF]))
            let records = Self.parseCSV(csv.body)
            #expect(records.first == ["phoneNumber", "registeredAt", "source"])
            #expect(
                Set(records.dropFirst().map { $0[0] }) == Set((0..<100).map { String(format: "010500000%02d", $0) })
            )
            let times = records.dropFirst().map { RFC3339.parse($0[1]) ?? -1 }
            #expect(times == times.sorted() && !times.contains(-1))
            #expect(records.dropFirst().allSatisfy { $0.count == 3 && ["ars", "manual"].contains($0[2]) })

            let lines = try await gateway.send(
                .get,
                "/v1/services/default/unsubscribes/export",
                headers: [.accept: "application/x-ndjson"]
            )
            #expect(lines.headers[.contentType] == "application/x-ndjson")
            let items = try lines.body.split(separator: "\n").map {
                try HTTPAnswer(status: 200, headers: [:], body: String($0)).decodeGenerated(
                    Components.Schemas.OptOut.self
                )
            }
            #expect(items.map(\.phoneNumber) == records.dropFirst().map { $0[0] })
            #expect(try await gateway.send(.get, "/v1/services/nope/unsubscribes/export").status == 404)
            #expect(try await gateway.send(.get, "/v1/unsubscribes/export?x=1").status == 400)
        }
    }
}
