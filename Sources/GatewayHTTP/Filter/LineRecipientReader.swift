/// Reads plain text (one recipient per line) or CSV (one per record, from one column).
///
/// Complete lines are read straight from the chunk; only the incomplete last line of a chunk is copied (into
/// `partialLine`), and a CSV record whose quoted field runs past a line end is collected in `openRecord`.
struct LineRecipientReader: RecipientReader, Sendable {
    enum Format: Equatable, Sendable {
        case plain
        /// The recipients are in the column with this header name; nil: in the first column, under an optional
        /// header (a first record whose first field has no decimal digit, in any script).
        case csv(column: String?)
    }

    /// Which CSV field holds the recipient, once the header (if any) is read.
    private enum Column: Sendable {
        case firstUnlessHeader
        case named(String)
        case index(Int)
    }

    /// A CSV record whose last quoted field is still open at the end of the lines read so far.
    private struct OpenRecord: Sendable {
        var bytes: [UInt8]
        var startLine: Int
    }

    private let isCSV: Bool
    private let maxRecipients: Int
    private var column: Column
    /// How many bytes of a UTF-8 BOM the body started with so far; `startRead` once the start is behind.
    private var bomBytesSeen = 0
    private var startRead = false
    private var partialLine: [UInt8] = []
    private var openRecord: OpenRecord?
    /// Lines completed so far: the line being read is `linesRead + 1`.
    private var linesRead = 0
    private var recipientCount = 0

    init(format: Format, maxRecipients: Int) {
        self.maxRecipients = maxRecipients
        switch format {
        case .plain:
            isCSV = false
            column = .index(0)
        case .csv(nil):
            isCSV = true
            column = .firstUnlessHeader
        case .csv(let name?):
            isCSV = true
            column = .named(name)
        }
    }

    mutating func read(_ bytes: UnsafeRawBufferPointer, emit: (FilterRecipient) -> Void) throws(FilterBodyError) {
        var lineStart = 0
        if !startRead {
            lineStart = skipBOM(bytes)
            guard startRead else { return }
        }
        if !partialLine.isEmpty {
            guard let end = Self.firstLineFeed(in: bytes, from: lineStart) else {
                try appendToPartialLine(bytes, lineStart..<bytes.count)
                return
            }
            try appendToPartialLine(bytes, lineStart..<end)
            try completePartialLine(emit: emit)
            lineStart = end + 1
        }
        while let end = Self.firstLineFeed(in: bytes, from: lineStart) {
            try completeLine(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<end]), emit: emit)
            lineStart = end + 1
        }
        try appendToPartialLine(bytes, lineStart..<bytes.count)
    }

    mutating func finish(emit: (FilterRecipient) -> Void) throws(FilterBodyError) {
        if !startRead {
            // The body is (the start of) a BOM and nothing else: those bytes are text.
            partialLine.append(contentsOf: Self.bom[0..<bomBytesSeen])
            startRead = true
        }
        if !partialLine.isEmpty { try completePartialLine(emit: emit) }
        if let openRecord { throw .malformed("line \(openRecord.startLine): a quoted field is not closed") }
    }

    // MARK: Lines

    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Consumes the bytes of a BOM at the start of the body; returns where the text starts in `bytes`. Sets
    /// `startRead` once the body is known to start with a whole BOM or not to (a partial one is then text).
    private mutating func skipBOM(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while bomBytesSeen < 3, offset < bytes.count {
            guard bytes[offset] == Self.bom[bomBytesSeen] else {
                partialLine.append(contentsOf: Self.bom[0..<bomBytesSeen])
                startRead = true
                return offset
            }
            bomBytesSeen += 1
            offset += 1
        }
        if bomBytesSeen == 3 { startRead = true }
        return offset
    }

    private static func firstLineFeed(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index < bytes.count {
            if bytes[index] == ASCIIByte.lineFeed { return index }
            index += 1
        }
        return nil
    }

    /// Keeps the incomplete last line of a chunk (with what a still open CSV record holds, at most 1 MiB and a CR).
    private mutating func appendToPartialLine(
        _ bytes: UnsafeRawBufferPointer,
        _ range: Range<Int>
    ) throws(FilterBodyError) {
        guard !range.isEmpty else { return }
        let pending = (openRecord?.bytes.count ?? 0) + partialLine.count + range.count
        guard pending <= Self.maxRecordBytes + 1 else { throw tooLong(line: openRecord?.startLine ?? linesRead + 1) }
        partialLine.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[range]))
    }

    private mutating func completePartialLine(emit: (FilterRecipient) -> Void) throws(FilterBodyError) {
        var line: [UInt8] = []
        swap(&line, &partialLine)
        defer {
            line.removeAll(keepingCapacity: true)
            partialLine = line
        }
        try withBytes(of: line) { (bytes: UnsafeRawBufferPointer) throws(FilterBodyError) in
            try completeLine(bytes, emit: emit)
        }
    }

    /// Reads one line, given without its LF (a CR before it is dropped here).
    private mutating func completeLine(
        _ rawLine: UnsafeRawBufferPointer,
        emit: (FilterRecipient) -> Void
    ) throws(FilterBodyError) {
        linesRead += 1
        let line =
            rawLine.last == ASCIIByte.carriageReturn
            ? UnsafeRawBufferPointer(rebasing: rawLine[0..<rawLine.count - 1]) : rawLine
        if !isCSV {
            guard line.count <= Self.maxRecordBytes else { throw tooLong(line: linesRead) }
            guard !isBlank(line) else { return }
            try emitRecipient(String(decoding: line, as: UTF8.self), line: linesRead, emit: emit)
        } else if openRecord != nil {
            try continueOpenRecord(rawLine: rawLine, line: line, emit: emit)
        } else {
            guard line.count <= Self.maxRecordBytes else { throw tooLong(line: linesRead) }
            let complete = try readRecord(line, line: linesRead, emit: emit)
            if !complete {
                // Rare: a quoted field runs on to the next line (its CR, if any, is part of the field).
                var bytes = Array(rawLine)
                bytes.append(ASCIIByte.lineFeed)
                openRecord = OpenRecord(bytes: bytes, startLine: linesRead)
            }
        }
    }

    /// Adds a line to the open CSV record, and reads the record once its quoted field is closed.
    private mutating func continueOpenRecord(
        rawLine: UnsafeRawBufferPointer,
        line: UnsafeRawBufferPointer,
        emit: (FilterRecipient) -> Void
    ) throws(FilterBodyError) {
        guard var record = openRecord else { return }
        openRecord = nil
        guard record.bytes.count + line.count <= Self.maxRecordBytes else { throw tooLong(line: record.startLine) }
        if CSVRecord.endsInsideQuotes(continuing: line) {
            record.bytes.append(contentsOf: rawLine)
            record.bytes.append(ASCIIByte.lineFeed)
            openRecord = record
            return
        }
        record.bytes.append(contentsOf: line)
        let startLine = record.startLine
        try withBytes(of: record.bytes) { (bytes: UnsafeRawBufferPointer) throws(FilterBodyError) in
            let complete = try readRecord(bytes, line: startLine, emit: emit)
            assert(complete, "the record's quotes were counted as closed")
        }
    }

    // MARK: Records

    /// Reads one complete CSV record (a header, a recipient or a blank record); false, reading nothing, when its
    /// last quoted field is not closed (the record goes on on the next line).
    private mutating func readRecord(
        _ record: UnsafeRawBufferPointer,
        line: Int,
        emit: (FilterRecipient) -> Void
    ) throws(FilterBodyError) -> Bool {
        if case .index(let index) = column {
            guard let found = CSVRecord.field(at: index, in: record) else { return false }
            if !found.isBlank { try emitRecipient(found.value ?? "", line: line, emit: emit) }
            return true
        }
        guard let header = CSVRecord.fields(in: record) else { return false }
        guard !header.isBlank else { return true }
        switch column {
        case .firstUnlessHeader:
            column = .index(0)
            let first = header.values[0]
            // Any decimal digit counts (full-width `０１０` too): a first row that is a number written in other
            // digits is a recipient, never a header that would drop it from every list of the answer.
            if first.unicodeScalars.contains(where: { $0.properties.numericType == .decimal }) {
                try emitRecipient(first, line: line, emit: emit)
            }
        case .named(let name):
            let wanted = name.trimmingASCIISpaces()
            let matching = header.values.indices.filter { header.values[$0].trimmingASCIISpaces() == wanted }
            guard let index = matching.first else { throw missingColumn(name, header: header.values, line: line) }
            // Two columns of that name: which one holds the recipients is not for the gateway to guess.
            guard matching.count == 1 else {
                let positions = matching.prefix(5).map { String($0 + 1) }.joined(separator: ", ")
                throw .malformed(
                    "line \(line): \(matching.count) columns are named \"\(name.prefix(64))\" (columns \(positions)); "
                        + "rename one so that the name picks one column"
                )
            }
            column = .index(index)
        case .index:
            break
        }
        return true
    }

    private mutating func emitRecipient(
        _ input: String,
        line: Int,
        emit: (FilterRecipient) -> Void
    ) throws(FilterBodyError) {
        guard recipientCount < maxRecipients else { throw .tooManyRecipients(limit: maxRecipients) }
        emit(FilterRecipient(index: recipientCount, line: line, input: input))
        recipientCount += 1
    }

    // MARK: Errors

    private func tooLong(line: Int) -> FilterBodyError {
        .malformed("line \(line): longer than \(Self.maxRecordBytes) bytes")
    }

    private func missingColumn(_ name: String, header: [String], line: Int) -> FilterBodyError {
        let columns = header.prefix(20).map { String($0.trimmingASCIISpaces().prefix(64)) }.joined(separator: ", ")
        return .malformed("line \(line): no column named \"\(name.prefix(64))\" in the header (columns: \(columns))")
    }
}

/// RFC 4180 records, read from the bytes of one whole record (line ends inside quoted fields included, the
/// record's own line end not). A field is quoted when it starts with `"`; in it `""` is one quote, and whatever
/// follows its closing quote up to the next comma is kept as is. Unquoted fields are taken as is.
private enum CSVRecord {
    /// The field at `column` (nil when the record has fewer fields) and whether every field is blank; nil when
    /// the record's last quoted field is not closed.
    static func field(at column: Int, in record: UnsafeRawBufferPointer) -> (value: String?, isBlank: Bool)? {
        var value: String?
        var allBlank = true
        let complete = forEachField(in: record) { index, field in
            if index == column { value = String(decoding: field, as: UTF8.self) }
            if allBlank, !isBlank(field) { allBlank = false }
        }
        return complete ? (value, allBlank) : nil
    }

    /// Every field (at least one) and whether each is blank; nil when the last quoted field is not closed.
    static func fields(in record: UnsafeRawBufferPointer) -> (values: [String], isBlank: Bool)? {
        var values: [String] = []
        var allBlank = true
        let complete = forEachField(in: record) { _, field in
            values.append(String(decoding: field, as: UTF8.self))
            if allBlank, !isBlank(field) { allBlank = false }
        }
        return complete ? (values, allBlank) : nil
    }

    /// Calls `body` with each field's position and bytes (valid only during the call); false when the last
    /// field is a quoted one that is not closed.
    static func forEachField(in record: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) -> Void) -> Bool {
        var scratch: [UInt8] = []
        var position = 0
        var fieldIndex = 0
        while true {
            if position < record.count, record[position] == ASCIIByte.quote {
                guard let end = quotedField(in: record, from: position, into: &scratch) else { return false }
                if let range = end.direct {
                    body(fieldIndex, UnsafeRawBufferPointer(rebasing: record[range]))
                } else {
                    scratch.withUnsafeBytes { body(fieldIndex, $0) }
                }
                position = end.next
            } else {
                let start = position
                while position < record.count, record[position] != ASCIIByte.comma { position += 1 }
                body(fieldIndex, UnsafeRawBufferPointer(rebasing: record[start..<position]))
            }
            // `position` is at the comma after the field, or at the end.
            guard position < record.count else { return true }
            position += 1
            fieldIndex += 1
        }
    }

    /// Reads the quoted field whose opening quote is at `start`: `next` is where it ends (a comma or the end),
    /// and its text is `record[direct]` or, when it had to be unescaped, in `scratch`. Nil when it is not closed.
    private static func quotedField(
        in record: UnsafeRawBufferPointer,
        from start: Int,
        into scratch: inout [UInt8]
    ) -> (next: Int, direct: Range<Int>?)? {
        scratch.removeAll(keepingCapacity: true)
        var copied = false
        var runStart = start + 1
        var position = runStart
        while true {
            guard position < record.count else { return nil }
            if record[position] == ASCIIByte.quote {
                guard position + 1 < record.count, record[position + 1] == ASCIIByte.quote else { break }
                // `""`: keep the run up to and including one of the two quotes.
                scratch.append(contentsOf: record[runStart...position])
                copied = true
                position += 2
                runStart = position
            } else {
                position += 1
            }
        }
        let closingQuote = position
        let tailStart = closingQuote + 1
        var next = tailStart
        while next < record.count, record[next] != ASCIIByte.comma { next += 1 }
        guard copied || next > tailStart else { return (next, runStart..<closingQuote) }
        scratch.append(contentsOf: record[runStart..<closingQuote])
        scratch.append(contentsOf: record[tailStart..<next])
        return (next, nil)
    }

    /// For a line that starts inside a quoted field: whether it also ends inside one. Follows the same rules as
    /// `forEachField` (a quote at the end of a line always closes its field, so a line end is never in a `""`).
    static func endsInsideQuotes(continuing line: UnsafeRawBufferPointer) -> Bool {
        var inside = true
        var atFieldStart = false
        var position = 0
        while position < line.count {
            let byte = line[position]
            position += 1
            if inside {
                guard byte == ASCIIByte.quote else { continue }
                if position < line.count, line[position] == ASCIIByte.quote {
                    position += 1
                } else {
                    inside = false
                }
            } else if byte == ASCIIByte.comma {
                atFieldStart = true
            } else {
                inside = atFieldStart && byte == ASCIIByte.quote
                atFieldStart = false
            }
        }
        return inside
    }
}
