/// What a filter request asks for, read from its query, `Content-Type` and `Accept` before the body is: the
/// reader, the encoding, the answer's form; or the refusal that says what is wrong.
struct FilterPlan {
    enum Body {
        case json
        case plain
        case csv(LineRecipientReader.Separator)
    }

    enum Answer {
        case json
        /// The allowed numbers, one a line.
        case numbers
        /// The body's rows.
        case rows(FilterRows.View)
    }

    var body: Body
    /// The declared charset of a text body (nil: detected).
    var declaredCharset: TextCharset?
    var column: String?
    var answer: Answer
    /// The CSV answer's charset, and the label the caller asked for it by.
    var answerCharset: (charset: TextCharset, label: String) = (.utf8, "utf-8")
    var options = RecipientFilter.Options()

    struct Refusal: Error {
        var status: Int
        var detail: String
        var invalidParams: [(name: String, reason: String)] = []

        static func parameter(_ name: String, _ reason: String) -> Refusal {
            Refusal(status: 400, detail: "\(name): \(reason)", invalidParams: [(name, reason)])
        }
    }

    static let maxColumnCharacters = 128

    init(query: [String: String], contentType: String?, accept: [String]) throws(Refusal) {
        let contentType = contentType ?? ""
        let mediaType = contentType.mediaType
        let charsetLabel = TextCharset.parameter(of: contentType)
        switch mediaType {
        case "text/csv": body = .csv(.commaUnlessTabbed)
        case "text/tab-separated-values": body = .csv(.tab)
        case "text/plain": body = .plain
        case "application/json": body = .json
        default:
            throw Refusal(
                status: 415,
                detail:
                    "the filter takes Content-Type application/json, text/csv, text/tab-separated-values or text/plain"
            )
        }
        if let charsetLabel {
            guard let charset = TextCharset(label: charsetLabel) else {
                throw Refusal(
                    status: 415,
                    detail: "charset \(charsetLabel.prefix(40)) is not read here; send \(TextCharset.labels)"
                )
            }
            if case .json = body, charset != .utf8 {
                throw Refusal(
                    status: 415,
                    detail: "a JSON body is UTF-8 (RFC 8259); charset \(charsetLabel.prefix(40)) is not"
                )
            }
            declaredCharset = charset
        }

        column = query["column"]
        if let column {
            guard !column.isEmpty, column.count <= Self.maxColumnCharacters else {
                throw .parameter("column", "must be 1 to \(Self.maxColumnCharacters) characters")
            }
            guard case .csv = body else { throw .parameter("column", "only a text/csv or TSV body has columns") }
        }

        let csvRange = Self.csvPreference(accept)
        switch (csvRange, body) {
        case (nil, _): answer = .json
        case (.some, .csv): answer = .rows(.allowed)
        case (.some, _): answer = .numbers
        }
        if let range = csvRange, let label = range.charset {
            guard let charset = TextCharset(label: label) else {
                throw Refusal(
                    status: 406,
                    detail: "a CSV answer can be written in \(TextCharset.labels); not in \(label.prefix(40))"
                )
            }
            answerCharset = (charset, label.lowercased())
        }

        if let rows = query["rows"] {
            guard let view = FilterRows.View(rawValue: rows) else {
                throw .parameter("rows", "must be allowed or excluded")
            }
            guard case .rows = answer else {
                throw .parameter("rows", "only the CSV answer (Accept: text/csv) to a CSV or TSV body has rows")
            }
            answer = .rows(view)
        }
        if let repair = query["repair"] {
            guard repair == "leading-zero" else { throw .parameter("repair", "must be leading-zero") }
            options.repairLeadingZero = true
        }
        if let dedupe = query["dedupe"] {
            guard dedupe == "true" || dedupe == "false" else { throw .parameter("dedupe", "must be true or false") }
            options.dedupe = dedupe == "true"
            if options.dedupe, case .json = answer {
                throw .parameter("dedupe", "only a CSV answer (Accept: text/csv) leaves repeated recipients out")
            }
        }
    }

    /// The reader for the body.
    func reader(maxRecipients: Int) -> any RecipientReader {
        switch body {
        case .json: JSONRecipientReader(maxRecipients: maxRecipients)
        case .plain: LineRecipientReader(format: .plain, maxRecipients: maxRecipients)
        case .csv(let separator):
            LineRecipientReader(
                format: .csv(column: column, separator: separator),
                maxRecipients: maxRecipients,
                keepsCells: { if case .rows = answer { true } else { false } }()
            )
        }
    }

    /// Whether `Accept` prefers CSV to JSON, and with which charset: each type's quality comes from its most
    /// specific range (`text/csv`, then `text/*`, then `*/*`). Without `Accept`, or on a tie, the answer is JSON
    /// (nil).
    static func csvPreference(_ values: [String]) -> (quality: Double, charset: String?)? {
        let accept = AcceptRanges(values)
        let csv = accept.preference("text/csv")
        return csv.quality > accept.preference("application/json").quality ? csv : nil
    }
}
