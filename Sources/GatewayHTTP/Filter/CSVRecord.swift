/// RFC 4180 records (with a comma or a tab between fields), read from the bytes of one whole record (line ends inside quoted fields included, the
/// record's own line end not). A field is quoted when it starts with `"`; in it `""` is one quote, and whatever
/// follows its closing quote up to the next separator is kept as is. Unquoted fields are taken as is.
enum CSVRecord {
    /// The field at `column` (nil when the record has fewer fields) and whether every field is blank; nil when
    /// the record's last quoted field is not closed.
    static func field(
        at column: Int,
        in record: UnsafeRawBufferPointer,
        separator: UInt8
    ) -> (value: String?, isBlank: Bool)? {
        var value: String?
        var allBlank = true
        let complete = forEachField(in: record, separator: separator) { index, field in
            if index == column { value = String(decoding: field, as: UTF8.self) }
            if allBlank, !isBlank(field) { allBlank = false }
        }
        return complete ? (value, allBlank) : nil
    }

    /// Every field (at least one) and whether each is blank; nil when the last quoted field is not closed.
    static func fields(in record: UnsafeRawBufferPointer, separator: UInt8) -> (values: [String], isBlank: Bool)? {
        var values: [String] = []
        // Most files have a few columns: one allocation instead of growing 1, 2, 4.
        values.reserveCapacity(8)
        var allBlank = true
        let complete = forEachField(in: record, separator: separator) { _, field in
            values.append(String(decoding: field, as: UTF8.self))
            if allBlank, !isBlank(field) { allBlank = false }
        }
        return complete ? (values, allBlank) : nil
    }

    /// Calls `body` with each field's position and bytes (valid only during the call); false when the last
    /// field is a quoted one that is not closed.
    static func forEachField(
        in record: UnsafeRawBufferPointer,
        separator: UInt8,
        _ body: (Int, UnsafeRawBufferPointer) -> Void
    ) -> Bool {
        var scratch: [UInt8] = []
        var position = 0
        var fieldIndex = 0
        while true {
            if position < record.count, record[position] == ASCIIByte.quote {
                guard let end = quotedField(in: record, from: position, separator: separator, into: &scratch) else {
                    return false
                }
                if let range = end.direct {
                    body(fieldIndex, UnsafeRawBufferPointer(rebasing: record[range]))
                } else {
                    scratch.withUnsafeBytes { body(fieldIndex, $0) }
                }
                position = end.next
            } else {
                let start = position
                while position < record.count, record[position] != separator { position += 1 }
                body(fieldIndex, UnsafeRawBufferPointer(rebasing: record[start..<position]))
            }
            // `position` is at the separator after the field, or at the end.
            guard position < record.count else { return true }
            position += 1
            fieldIndex += 1
        }
    }

    /// Reads the quoted field whose opening quote is at `start`: `next` is where it ends (a separator or the end),
    /// and its text is `record[direct]` or, when it had to be unescaped, in `scratch`. Nil when it is not closed.
    private static func quotedField(
        in record: UnsafeRawBufferPointer,
        from start: Int,
        separator: UInt8,
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
        while next < record.count, record[next] != separator { next += 1 }
        guard copied || next > tailStart else { return (next, runStart..<closingQuote) }
        scratch.append(contentsOf: record[runStart..<closingQuote])
        scratch.append(contentsOf: record[tailStart..<next])
        return (next, nil)
    }

    /// For a line that starts inside a quoted field: whether it also ends inside one. Follows the same rules as
    /// `forEachField` (a quote at the end of a line always closes its field, so a line end is never in a `""`).
    static func endsInsideQuotes(continuing line: UnsafeRawBufferPointer, separator: UInt8) -> Bool {
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
            } else if byte == separator {
                atFieldStart = true
            } else {
                inside = atFieldStart && byte == ASCIIByte.quote
                atFieldStart = false
            }
        }
        return inside
    }
}
