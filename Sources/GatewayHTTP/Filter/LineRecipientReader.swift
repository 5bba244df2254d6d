import SENSCore

/// Reads plain text (one recipient per line) or CSV and TSV (one per record, from one column).
///
/// A line ends at LF, CRLF or a CR alone (old Mac files). Complete lines are read straight from the chunk; only the
/// incomplete last line of a chunk is copied (into `partialLine`), and a CSV record whose quoted field runs past a
/// line end is collected in `openRecord`.
struct LineRecipientReader: RecipientReader, Sendable {
    enum Format: Equatable, Sendable {
        case plain
        /// The recipients are in the column with this header name; nil: in the first column, under an optional
        /// header (a first record whose first field has no decimal digit, in any script).
        case csv(column: String?, separator: Separator)
    }

    enum Separator: Equatable, Sendable {
        case comma
        case tab
        /// `text/csv`: a comma, unless the first non-blank line has tabs and no comma (a tab-separated file sent
        /// as CSV).
        case commaUnlessTabbed
    }

    /// Which CSV field holds the recipient, once the header (if any) is read.
    private enum Column: Sendable {
        case firstUnlessHeader
        case named(String)
        case index(Int)
    }

    /// How a line ended: its bytes, kept inside a quoted field that runs on.
    private enum LineEnd: Sendable {
        case lineFeed, carriageReturnLineFeed, carriageReturn, none

        var bytes: [UInt8] {
            switch self {
            case .lineFeed: [ASCIIByte.lineFeed]
            case .carriageReturnLineFeed: [ASCIIByte.carriageReturn, ASCIIByte.lineFeed]
            case .carriageReturn: [ASCIIByte.carriageReturn]
            case .none: []
            }
        }
    }

    /// A CSV record whose last quoted field is still open at the end of the lines read so far.
    private struct OpenRecord: Sendable {
        var bytes: [UInt8]
        var startLine: Int
    }

    private let isCSV: Bool
    private let maxRecipients: Int
    /// Whether each recipient carries its record's cells (for the CSV answer's rows).
    private let keepsCells: Bool
    private var column: Column
    /// The byte between fields, once known (`commaUnlessTabbed` decides at the first non-blank line).
    private var separator: UInt8?
    /// The header record, once read, if the body has one.
    private(set) var header: FilterHeader?
    /// Records with a quoted cell that spans lines: expected of cells with line breaks, else the sign of a stray
    /// quote that joined lines into one record (`X-Filter-Multiline-Records`).
    private(set) var multilineRecords = 0
    /// How many bytes of a UTF-8 BOM the body started with so far; `startRead` once the start is behind.
    private var bomBytesSeen = 0
    private var startRead = false
    private var partialLine: [UInt8] = []
    /// The chunk read last ended in a CR: the line before it is complete, but whether an LF follows is not known.
    private var pendingCarriageReturn = false
    private var openRecord: OpenRecord?
    /// Lines completed so far: the line being read is `linesRead + 1`.
    private var linesRead = 0
    private var recipientCount = 0

    init(format: Format, maxRecipients: Int, keepsCells: Bool = false) {
        self.maxRecipients = maxRecipients
        self.keepsCells = keepsCells
        switch format {
        case .plain:
            isCSV = false
            column = .index(0)
        case .csv(let name, let separator):
            isCSV = true
            column = name.map { .named($0) } ?? .firstUnlessHeader
            switch separator {
            case .comma: self.separator = ASCIIByte.comma
            case .tab: self.separator = ASCIIByte.tab
            case .commaUnlessTabbed: self.separator = nil
            }
        }
    }

    var currentLine: Int? { openRecord?.startLine ?? linesRead + 1 }

    /// Whether the body started with a UTF-8 BOM.
    var startedWithBOM: Bool { bomBytesSeen == 3 }

    /// Whether the fields were read as separated by tabs.
    var isTabSeparated: Bool { separator == ASCIIByte.tab }

    mutating func read(_ bytes: UnsafeRawBufferPointer, emit: (FilterRecipient) -> Void) throws(FilterBodyError) {
        var lineStart = 0
        if !startRead {
            lineStart = skipBOM(bytes)
            guard startRead else { return }
        }
        if pendingCarriageReturn, lineStart < bytes.count {
            pendingCarriageReturn = false
            let followedByLineFeed = bytes[lineStart] == ASCIIByte.lineFeed
            if followedByLineFeed { lineStart += 1 }
            try completePartialLine(followedByLineFeed ? .carriageReturnLineFeed : .carriageReturn, emit: emit)
        }
        if !partialLine.isEmpty {
            guard let end = Self.lineEnd(in: bytes, from: lineStart) else {
                try keepRest(bytes, from: lineStart)
                return
            }
            try appendToPartialLine(bytes, lineStart..<end.start)
            try completePartialLine(end.kind, emit: emit)
            lineStart = end.next
        }
        while let end = Self.lineEnd(in: bytes, from: lineStart) {
            try completeLine(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<end.start]), end.kind, emit: emit)
            lineStart = end.next
        }
        try keepRest(bytes, from: lineStart)
    }

    mutating func finish(emit: (FilterRecipient) -> Void) throws(FilterBodyError) {
        if !startRead {
            // The body is (the start of) a BOM and nothing else: those bytes are text.
            partialLine.append(contentsOf: Self.bom[0..<bomBytesSeen])
            startRead = true
        }
        if pendingCarriageReturn {
            pendingCarriageReturn = false
            try completePartialLine(.carriageReturn, emit: emit)
        } else if !partialLine.isEmpty {
            try completePartialLine(.none, emit: emit)
        }
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

    /// The first line end at or after `start`: where the line stops, where the next starts, and how it ended. Nil
    /// when there is none, or when it is a CR that is the chunk's last byte (an LF may follow in the next).
    private static func lineEnd(
        in bytes: UnsafeRawBufferPointer,
        from start: Int
    ) -> (start: Int, next: Int, kind: LineEnd)? {
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if byte <= ASCIIByte.carriageReturn {
                if byte == ASCIIByte.lineFeed { return (index, index + 1, .lineFeed) }
                if byte == ASCIIByte.carriageReturn {
                    guard index + 1 < bytes.count else { return nil }
                    return bytes[index + 1] == ASCIIByte.lineFeed
                        ? (index, index + 2, .carriageReturnLineFeed) : (index, index + 1, .carriageReturn)
                }
            }
            index += 1
        }
        return nil
    }

    /// Keeps what follows the chunk's last line end; a CR at its very end ends that line once the next byte shows
    /// whether an LF belongs to it.
    private mutating func keepRest(_ bytes: UnsafeRawBufferPointer, from start: Int) throws(FilterBodyError) {
        guard start < bytes.count else { return }
        if bytes[bytes.count - 1] == ASCIIByte.carriageReturn {
            try appendToPartialLine(bytes, start..<bytes.count - 1)
            pendingCarriageReturn = true
        } else {
            try appendToPartialLine(bytes, start..<bytes.count)
        }
    }

    /// Keeps the incomplete last line of a chunk (with what a still open CSV record holds, at most 1 MiB).
    private mutating func appendToPartialLine(
        _ bytes: UnsafeRawBufferPointer,
        _ range: Range<Int>
    ) throws(FilterBodyError) {
        guard !range.isEmpty else { return }
        let pending = (openRecord?.bytes.count ?? 0) + partialLine.count + range.count
        guard pending <= Self.maxRecordBytes else { throw tooLong(line: openRecord?.startLine ?? linesRead + 1) }
        partialLine.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[range]))
    }

    private mutating func completePartialLine(
        _ end: LineEnd,
        emit: (FilterRecipient) -> Void
    ) throws(FilterBodyError) {
        var line: [UInt8] = []
        swap(&line, &partialLine)
        defer {
            line.removeAll(keepingCapacity: true)
            partialLine = line
        }
        try withBytes(of: line) { (bytes: UnsafeRawBufferPointer) throws(FilterBodyError) in
            try completeLine(bytes, end, emit: emit)
        }
    }

    /// Reads one line, given without its line end.
    private mutating func completeLine(
        _ line: UnsafeRawBufferPointer,
        _ end: LineEnd,
        emit: (FilterRecipient) -> Void
    ) throws(FilterBodyError) {
        linesRead += 1
        if !isCSV {
            guard line.count <= Self.maxRecordBytes else { throw tooLong(line: linesRead) }
            guard !isBlank(line) else { return }
            try emitRecipient(String(decoding: line, as: UTF8.self), cells: [], column: 0, line: linesRead, emit: emit)
        } else if openRecord != nil {
            try continueOpenRecord(line, end, emit: emit)
        } else {
            guard line.count <= Self.maxRecordBytes else { throw tooLong(line: linesRead) }
            if separator == nil {
                guard !isBlank(line) else { return }
                separator =
                    line.contains(ASCIIByte.tab) && !line.contains(ASCIIByte.comma)
                    ? ASCIIByte.tab : ASCIIByte.comma
            }
            let complete = try readRecord(line, line: linesRead, emit: emit)
            if !complete {
                // Rare: a quoted field runs on to the next line (its line end is part of the field).
                openRecord = OpenRecord(bytes: Array(line) + end.bytes, startLine: linesRead)
            }
        }
    }

    /// Adds a line to the open CSV record, and reads the record once its quoted field is closed.
    private mutating func continueOpenRecord(
        _ line: UnsafeRawBufferPointer,
        _ end: LineEnd,
        emit: (FilterRecipient) -> Void
    ) throws(FilterBodyError) {
        guard var record = openRecord, let separator else { return }
        openRecord = nil
        guard record.bytes.count + line.count <= Self.maxRecordBytes else { throw tooLong(line: record.startLine) }
        record.bytes.append(contentsOf: line)
        if CSVRecord.endsInsideQuotes(continuing: line, separator: separator) {
            record.bytes.append(contentsOf: end.bytes)
            openRecord = record
            return
        }
        let startLine = record.startLine
        multilineRecords += 1
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
        let separator = separator ?? ASCIIByte.comma
        if case .index(let index) = column {
            if keepsCells {
                guard let row = CSVRecord.fields(in: record, separator: separator) else { return false }
                if !row.isBlank {
                    let input = index < row.values.count ? row.values[index] : ""
                    try emitRecipient(input, cells: row.values, column: index, line: line, emit: emit)
                }
                return true
            }
            guard let found = CSVRecord.field(at: index, in: record, separator: separator) else { return false }
            if !found.isBlank { try emitRecipient(found.value ?? "", cells: [], column: index, line: line, emit: emit) }
            return true
        }
        guard let first = CSVRecord.fields(in: record, separator: separator) else { return false }
        guard !first.isBlank else { return true }
        switch column {
        case .firstUnlessHeader:
            column = .index(0)
            let cell = first.values[0]
            // Any decimal digit counts (full-width `０１０` too): a first row that is a number written in other
            // digits is a recipient, never a header that would drop it from every list of the answer.
            if cell.unicodeScalars.contains(where: { $0.properties.numericType == .decimal }) {
                try emitRecipient(cell, cells: keepsCells ? first.values : [], column: 0, line: line, emit: emit)
            } else {
                header = FilterHeader(line: line, cells: first.values)
            }
        case .named(let name):
            let wanted = name.trimmingASCIISpaces()
            let matching = first.values.indices.filter { first.values[$0].trimmingASCIISpaces() == wanted }
            guard let index = matching.first else { throw missingColumn(name, header: first.values, line: line) }
            // Two columns of that name: which one holds the recipients is not for the gateway to guess.
            guard matching.count == 1 else {
                let positions = matching.prefix(5).map { String($0 + 1) }.joined(separator: ", ")
                throw .malformed(
                    "line \(line): \(matching.count) columns are named \"\(name.prefix(64))\" (columns \(positions)); "
                        + "rename one so that the name picks one column"
                )
            }
            column = .index(index)
            header = FilterHeader(line: line, cells: first.values)
        case .index:
            break
        }
        return true
    }

    private mutating func emitRecipient(
        _ input: String,
        cells: [String],
        column: Int,
        line: Int,
        emit: (FilterRecipient) -> Void
    ) throws(FilterBodyError) {
        guard recipientCount < maxRecipients else { throw .tooManyRecipients(limit: maxRecipients) }
        emit(FilterRecipient(index: recipientCount, line: line, input: input, cells: cells, column: column))
        recipientCount += 1
    }

    // MARK: Errors

    private func tooLong(line: Int) -> FilterBodyError {
        .malformed("line \(line): longer than \(Self.maxRecordBytes) bytes")
    }

    private func missingColumn(_ name: String, header: [String], line: Int) -> FilterBodyError {
        let columns = header.prefix(20).map { String($0.trimmingASCIISpaces().prefix(64)) }.joined(separator: ", ")
        var detail = "line \(line): no column named \"\(name.prefix(64))\" in the header (columns: \(columns))"
        // One cell holding the other separator: the body was sent under the wrong media type.
        if header.count == 1, let cell = header.first {
            if separator == ASCIIByte.tab, cell.contains(",") {
                detail += "; the body was read as tab-separated and its header has no tab: send it as text/csv"
            } else if separator == ASCIIByte.comma, cell.contains("\t") {
                detail +=
                    "; the body was read as comma-separated and its header has no comma: send it as "
                    + "text/tab-separated-values"
            }
        }
        return .malformed(detail)
    }
}

/// A CSV body's header record: its line and its cells as read.
struct FilterHeader: Equatable, Sendable {
    var line: Int
    var cells: [String]
}
