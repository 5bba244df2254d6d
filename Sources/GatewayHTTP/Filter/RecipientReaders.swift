/// One recipient read from a filter body: its 0-based position among the recipients (headers and blank lines
/// are not recipients), its 1-based line in the body for CSV and plain text (nil for JSON), and its text as sent.
struct FilterRecipient: Equatable, Sendable {
    var index: Int
    var line: Int?
    var input: String
}

/// Why a filter body cannot be read: the request is refused (400 with `detail`, or 413 when there are too many recipients).
enum FilterBodyError: Error, Equatable, Sendable {
    /// A sentence naming what and where, e.g. "phoneNumbers[3]: expected a string".
    case malformed(String)
    case tooManyRecipients(limit: Int)
}

/// Reads recipients from a body that arrives in chunks. `read` may be called any number of times with any split
/// of the bytes (a chunk may end in the middle of a line, a quoted field, a JSON string, an escape or a UTF-8
/// sequence); `finish` once at the end. Each recipient is passed to `emit` as soon as it is complete.
protocol RecipientReader {
    mutating func read(_ bytes: UnsafeRawBufferPointer, emit: (FilterRecipient) -> Void) throws(FilterBodyError)
    mutating func finish(emit: (FilterRecipient) -> Void) throws(FilterBodyError)
}

extension RecipientReader {
    /// The longest record (plain text, CSV) or string (JSON) a body may hold, in bytes: it bounds what is buffered.
    static var maxRecordBytes: Int { 1 << 20 }
}

// MARK: - Lines (plain text and CSV)

/// Reads plain text (one recipient per line) or CSV (one per record, from one column).
///
/// Complete lines are read straight from the chunk; only the incomplete last line of a chunk is copied (into
/// `partialLine`), and a CSV record whose quoted field runs past a line end is collected in `openRecord`.
struct LineRecipientReader: RecipientReader, Sendable {
    enum Format: Equatable, Sendable {
        case plain
        /// The recipients are in the column with this header name; nil: in the first column, under an optional
        /// header (a first record whose first field has no digit).
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
    private mutating func appendToPartialLine(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws(FilterBodyError) {
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
    private mutating func completeLine(_ rawLine: UnsafeRawBufferPointer, emit: (FilterRecipient) -> Void) throws(FilterBodyError) {
        linesRead += 1
        let line = rawLine.last == ASCIIByte.carriageReturn ? UnsafeRawBufferPointer(rebasing: rawLine[0..<rawLine.count - 1]) : rawLine
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
    private mutating func continueOpenRecord(rawLine: UnsafeRawBufferPointer, line: UnsafeRawBufferPointer,
                                             emit: (FilterRecipient) -> Void) throws(FilterBodyError) {
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
    private mutating func readRecord(_ record: UnsafeRawBufferPointer, line: Int,
                                     emit: (FilterRecipient) -> Void) throws(FilterBodyError) -> Bool {
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
            if first.utf8.contains(where: { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                try emitRecipient(first, line: line, emit: emit)
            }
        case .named(let name):
            let wanted = trimmingSpaces(name)
            guard let index = header.values.firstIndex(where: { trimmingSpaces($0) == wanted }) else {
                throw missingColumn(name, header: header.values, line: line)
            }
            column = .index(index)
        case .index:
            break
        }
        return true
    }

    private mutating func emitRecipient(_ input: String, line: Int, emit: (FilterRecipient) -> Void) throws(FilterBodyError) {
        guard recipientCount < maxRecipients else { throw .tooManyRecipients(limit: maxRecipients) }
        emit(FilterRecipient(index: recipientCount, line: line, input: input))
        recipientCount += 1
    }

    // MARK: Errors

    private func tooLong(line: Int) -> FilterBodyError {
        .malformed("line \(line): longer than \(Self.maxRecordBytes) bytes")
    }

    private func missingColumn(_ name: String, header: [String], line: Int) -> FilterBodyError {
        let columns = header.prefix(20).map { String(trimmingSpaces($0).prefix(64)) }.joined(separator: ", ")
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
    private static func quotedField(in record: UnsafeRawBufferPointer, from start: Int,
                                    into scratch: inout [UInt8]) -> (next: Int, direct: Range<Int>?)? {
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

// MARK: - JSON

/// Reads `{"phoneNumbers": ["…", …]}` as a state machine over the chunks: only a string in progress is buffered.
struct JSONRecipientReader: RecipientReader, Sendable {
    /// Where the reader is in the body's grammar.
    private enum State: Sendable {
        /// At the start, having seen this many bytes of a UTF-8 BOM.
        case start(bomBytes: Int)
        /// After `{`: a key or `}`.
        case objectStart
        /// After `,` in the object: a key.
        case beforeKey
        case key
        /// After a key: `:`.
        case afterKey
        /// After `"phoneNumbers":`: `[`.
        case beforeArray
        /// After `[`: a string or `]`.
        case arrayStart
        /// After `,` in the array: a string.
        case beforeElement
        case element
        /// After an element: `,` or `]`.
        case afterElement
        /// After the array: `,` or `}`.
        case afterArray
        /// After the closing `}`: only whitespace.
        case end
    }

    /// Where the reader is in an escape sequence inside a string.
    private enum Escape: Sendable {
        case off
        /// After `\`.
        case started
        /// After `\u` and `digits` hex digits, whose value is `value`.
        case unicode(digits: Int, value: UInt16)
    }

    /// Keys are kept only this long: enough to tell them apart and to name an unknown one.
    private static let maxKeyBytes = 1024
    private static let phoneNumbers = Array("phoneNumbers".utf8)
    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    private let maxRecipients: Int
    private var state = State.start(bomBytes: 0)
    /// Bytes of the body in the chunks before the current one (for error positions).
    private var offset = 0
    private var sawPhoneNumbers = false
    private var elementCount = 0
    /// The string in progress, decoded (a key is cut at `maxKeyBytes`).
    private var string: [UInt8] = []
    private var escape = Escape.off
    /// A `\uD800`–`\uDBFF` escape waiting for the low surrogate that should follow it.
    private var highSurrogate: UInt16?

    init(maxRecipients: Int) {
        self.maxRecipients = maxRecipients
    }

    mutating func read(_ bytes: UnsafeRawBufferPointer, emit: (FilterRecipient) -> Void) throws(FilterBodyError) {
        var position = 0
        while position < bytes.count {
            switch state {
            case .key, .element:
                position = try readString(bytes, from: position, emit: emit)
            default:
                try readToken(bytes[position], at: offset + position)
                position += 1
            }
        }
        offset += bytes.count
    }

    mutating func finish(emit: (FilterRecipient) -> Void) throws(FilterBodyError) {
        guard case .end = state else { throw .malformed("the body is not valid JSON (it ends early)") }
        guard sawPhoneNumbers else { throw .malformed("phoneNumbers: is required") }
    }

    // MARK: Structure

    /// Reads one byte outside strings; `at` is its position in the body.
    private mutating func readToken(_ byte: UInt8, at position: Int) throws(FilterBodyError) {
        if case .start(let bomBytes) = state, bomBytes < 3 {
            if byte == Self.bom[bomBytes] {
                state = .start(bomBytes: bomBytes + 1)
                return
            }
            guard bomBytes == 0 else { throw invalid(at: position) }
            state = .start(bomBytes: 3)  // no BOM: from here on, only whitespace may come before the `{`
        }
        if ASCIIByte.isJSONWhitespace(byte) { return }
        switch state {
        case .start:
            guard byte == UInt8(ascii: "{") else {
                throw ASCIIByte.startsJSONValue(byte) ? FilterBodyError.malformed("the body is not a JSON object") : invalid(at: position)
            }
            state = .objectStart
        case .objectStart where byte == UInt8(ascii: "}"), .afterArray where byte == UInt8(ascii: "}"):
            state = .end
        case .objectStart where byte == ASCIIByte.quote, .beforeKey where byte == ASCIIByte.quote:
            startString(.key)
        case .afterKey where byte == UInt8(ascii: ":"):
            state = .beforeArray
        case .beforeArray:
            guard byte == UInt8(ascii: "[") else { throw .malformed("phoneNumbers: expected an array") }
            state = .arrayStart
        case .arrayStart where byte == UInt8(ascii: "]"), .afterElement where byte == UInt8(ascii: "]"):
            state = .afterArray
        case .arrayStart where byte == ASCIIByte.quote, .beforeElement where byte == ASCIIByte.quote:
            startString(.element)
        // After `[`, anything else; after `,`, anything else but `]` (a trailing comma is a syntax error).
        case .arrayStart,
             .beforeElement where byte != UInt8(ascii: "]"):
            throw .malformed("phoneNumbers[\(elementCount)]: expected a string")
        case .afterElement where byte == ASCIIByte.comma:
            state = .beforeElement
        case .afterArray where byte == ASCIIByte.comma:
            state = .beforeKey
        default:
            throw invalid(at: position)
        }
    }

    private mutating func startString(_ next: State) {
        state = next
        string.removeAll(keepingCapacity: true)
        escape = .off
        highSurrogate = nil
    }

    /// Handles a complete key: only one `phoneNumbers` is taken.
    private mutating func finishKey() throws(FilterBodyError) {
        guard string == Self.phoneNumbers else {
            let key = String(decoding: string, as: UTF8.self).prefix(64)
            throw .malformed("\(key): unknown field; the body takes phoneNumbers")
        }
        guard !sawPhoneNumbers else { throw .malformed("phoneNumbers: the key appears more than once") }
        sawPhoneNumbers = true
        state = .afterKey
    }

    private mutating func finishElement(emit: (FilterRecipient) -> Void) throws(FilterBodyError) {
        guard elementCount < maxRecipients else { throw .tooManyRecipients(limit: maxRecipients) }
        emit(FilterRecipient(index: elementCount, line: nil, input: String(decoding: string, as: UTF8.self)))
        elementCount += 1
        state = .afterElement
    }

    // MARK: Strings

    /// Reads string content from `bytes[start...]` up to the closing quote or the chunk's end; returns the
    /// position after what it read. Runs of plain bytes are copied at once.
    private mutating func readString(_ bytes: UnsafeRawBufferPointer, from start: Int,
                                     emit: (FilterRecipient) -> Void) throws(FilterBodyError) -> Int {
        var position = start
        while position < bytes.count {
            if inEscape {
                try readEscape(bytes[position], at: offset + position)
                position += 1
                continue
            }
            let runStart = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == ASCIIByte.quote || byte == ASCIIByte.backslash || byte < 0x20 { break }
                position += 1
            }
            if position > runStart {
                try appendUnpairedSurrogate()
                try append(UnsafeRawBufferPointer(rebasing: bytes[runStart..<position]))
            }
            guard position < bytes.count else { break }
            let byte = bytes[position]
            position += 1
            if byte == ASCIIByte.backslash {
                escape = .started
            } else if byte == ASCIIByte.quote {
                try appendUnpairedSurrogate()
                if case .key = state { try finishKey() } else { try finishElement(emit: emit) }
                return position
            } else {
                throw invalid(at: offset + position - 1)  // a raw control character
            }
        }
        return position
    }

    private var inEscape: Bool {
        if case .off = escape { return false }
        return true
    }

    /// Reads one byte of an escape sequence (after the `\`).
    private mutating func readEscape(_ byte: UInt8, at position: Int) throws(FilterBodyError) {
        switch escape {
        case .off:
            return
        case .started:
            if byte == UInt8(ascii: "u") {
                escape = .unicode(digits: 0, value: 0)
                return
            }
            let decoded: UInt8
            switch byte {
            case ASCIIByte.quote, ASCIIByte.backslash, UInt8(ascii: "/"): decoded = byte
            case UInt8(ascii: "b"): decoded = 0x08
            case UInt8(ascii: "f"): decoded = 0x0C
            case UInt8(ascii: "n"): decoded = ASCIIByte.lineFeed
            case UInt8(ascii: "r"): decoded = ASCIIByte.carriageReturn
            case UInt8(ascii: "t"): decoded = 0x09
            default: throw invalid(at: position)
            }
            escape = .off
            try appendUnpairedSurrogate()
            try append(CollectionOfOne(decoded))
        case .unicode(let digits, let value):
            guard let digit = ASCIIByte.hexValue(byte) else { throw invalid(at: position) }
            let unit = value << 4 | UInt16(digit)
            guard digits == 3 else {
                escape = .unicode(digits: digits + 1, value: unit)
                return
            }
            escape = .off
            try appendUTF16(unit)
        }
    }

    /// Appends a `\uXXXX` code unit: a high surrogate waits for its low one; a lone surrogate becomes U+FFFD.
    private mutating func appendUTF16(_ unit: UInt16) throws(FilterBodyError) {
        if let high = highSurrogate, (0xDC00...0xDFFF).contains(unit) {
            highSurrogate = nil
            let scalar = 0x10000 + (UInt32(high - 0xD800) << 10) + UInt32(unit - 0xDC00)
            try append(Unicode.Scalar(scalar) ?? Unicode.Scalar.replacement)
            return
        }
        try appendUnpairedSurrogate()
        if (0xD800...0xDBFF).contains(unit) {
            highSurrogate = unit
        } else {
            try append(Unicode.Scalar(unit) ?? Unicode.Scalar.replacement)
        }
    }

    /// A high surrogate not followed by a low one becomes U+FFFD.
    private mutating func appendUnpairedSurrogate() throws(FilterBodyError) {
        guard highSurrogate != nil else { return }
        highSurrogate = nil
        try append(Unicode.Scalar.replacement)
    }

    private mutating func append(_ scalar: Unicode.Scalar) throws(FilterBodyError) {
        try append(scalar.utf8)
    }

    /// Appends decoded bytes to the string in progress: a key is cut at `maxKeyBytes`, an element may not pass 1 MiB.
    private mutating func append(_ bytes: some Collection<UInt8>) throws(FilterBodyError) {
        if case .key = state {
            string.append(contentsOf: bytes.prefix(Self.maxKeyBytes - string.count))
            return
        }
        guard string.count + bytes.count <= Self.maxRecordBytes else {
            throw .malformed("phoneNumbers[\(elementCount)]: longer than \(Self.maxRecordBytes) bytes")
        }
        string.append(contentsOf: bytes)
    }

    /// `position` counts the body's bytes from 0, a BOM included.
    private func invalid(at position: Int) -> FilterBodyError {
        .malformed("the body is not valid JSON (at byte \(position))")
    }
}

// MARK: - Helpers

private enum ASCIIByte {
    static let lineFeed = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let quote = UInt8(ascii: "\"")
    static let comma = UInt8(ascii: ",")
    static let backslash = UInt8(ascii: "\\")

    static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// Whether a JSON value (other than an object) may start with this byte.
    static func startsJSONValue(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "["), UInt8(ascii: "\""), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            return true
        default:
            return false
        }
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

private extension Unicode.Scalar {
    static let replacement: Unicode.Scalar = "\u{FFFD}"
}

/// Whether the bytes are only spaces and tabs (or none).
private func isBlank(_ bytes: UnsafeRawBufferPointer) -> Bool {
    for byte in bytes where byte != 0x20 && byte != 0x09 { return false }
    return true
}

private func trimmingSpaces(_ text: String) -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
    guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) }) else { return "" }
    return String(text[first...last])
}

/// Calls `body` with the array's bytes (`withUnsafeBytes` itself only rethrows untyped errors).
private func withBytes(of array: [UInt8],
                       _ body: (UnsafeRawBufferPointer) throws(FilterBodyError) -> Void) throws(FilterBodyError) {
    let result: Result<Void, FilterBodyError> = array.withUnsafeBytes { bytes in
        Result { () throws(FilterBodyError) in try body(bytes) }
    }
    try result.get()
}
