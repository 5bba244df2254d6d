import OptOutMirror
import OptOuts
import SENSCore

/// The CSV answer to a CSV or TSV body: the body's own rows, every cell kept and in order, written as RFC 4180
/// CSV (commas, CRLF, a cell quoted when it holds a comma, a quote or a line end). `allowed`: the rows that may be
/// sent to, the recipient's cell normalized. `excluded`: the rows left out, cells as sent, with two cells added,
/// `reasonCode` and `reason`. Rows are written as the filter decides them, in input order.
///
/// A cell the gateway writes itself never starts with `=`, `+`, `-`, `@`, a tab or a CR, which a spreadsheet
/// would run as a formula: such a cell is preceded by `'`. The caller's own cells are written as they were sent.
struct FilterRows {
    enum View: String, Sendable {
        case allowed
        case excluded
    }

    static let addedColumns = ["reasonCode", "reason"]

    let view: View
    let utcOffsetSeconds: Int
    private(set) var bytes: [UInt8] = []
    private(set) var count = 0

    init(view: View, utcOffsetSeconds: Int) {
        self.view = view
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    mutating func append(_ recipient: FilterRecipient, _ outcome: RecipientFilter.Outcome) {
        switch (view, outcome) {
        case (.allowed, .allowed(let key)):
            write(recipient, normalized: key.digits, added: [])
        case (.allowed, _), (.excluded, .allowed):
            return
        case (.excluded, _):
            let reason = Self.reason(outcome, utcOffsetSeconds: utcOffsetSeconds)
            write(recipient, normalized: nil, added: [reason.code, reason.text])
        }
    }

    /// The header record (with the added columns' names for `excluded`), or nothing for a body without one.
    func headerLine(_ header: FilterHeader?) -> [UInt8] {
        guard let header else { return [] }
        var line: [UInt8] = []
        for (position, cell) in header.cells.enumerated() {
            if position > 0 { line.append(ASCIIByte.comma) }
            Self.appendCell(cell, to: &line)
        }
        if view == .excluded {
            for name in Self.addedColumns {
                line.append(ASCIIByte.comma)
                Self.appendCell(name, to: &line)
            }
        }
        line.append(contentsOf: [ASCIIByte.carriageReturn, ASCIIByte.lineFeed])
        return line
    }

    /// Why a row is left out: a code for programs and a sentence for people.
    static func reason(
        _ outcome: RecipientFilter.Outcome,
        utcOffsetSeconds: Int
    ) -> (code: String, text: String) {
        switch outcome {
        case .allowed: ("", "")
        case .optedOut(let record):
            (
                "opted_out",
                "opted out since "
                    + RFC3339.format(
                        epochMilliseconds: record.registeredAtMilliseconds,
                        utcOffsetSeconds: utcOffsetSeconds
                    )
                    + (record.source == .ars ? " (a call to the 080 opt-out line)" : " (registered by the sender)")
            )
        case .unverified: ("unverified", FilterAnswer.unverifiedReason)
        case .invalid(let error): (error.code, error.reason)
        case .duplicate(_, let firstLine): ("duplicate", "the same number as line \(firstLine), the row kept")
        }
    }

    private mutating func write(_ recipient: FilterRecipient, normalized: String?, added: [String]) {
        count += 1
        for (position, cell) in recipient.cells.enumerated() {
            if position > 0 { bytes.append(ASCIIByte.comma) }
            if position == recipient.column, var normalized {
                normalized.withUTF8 { bytes.append(contentsOf: $0) }
            } else {
                Self.appendCell(cell, to: &bytes)
            }
        }
        for cell in added {
            bytes.append(ASCIIByte.comma)
            Self.appendCell(Self.inert(cell), to: &bytes)
        }
        bytes.append(contentsOf: [ASCIIByte.carriageReturn, ASCIIByte.lineFeed])
    }

    /// A cell of the gateway's own that a spreadsheet will show as text, never run.
    static func inert(_ cell: String) -> String {
        guard let first = cell.utf8.first else { return cell }
        switch first {
        case UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), ASCIIByte.tab,
            ASCIIByte.carriageReturn:
            return "'" + cell
        default:
            return cell
        }
    }

    /// A cell, quoted (its quotes doubled) when it holds a comma, a quote or a line end. Written from the
    /// string's UTF-8 buffer: appending a `String.UTF8View` goes a byte at a time for small strings.
    static func appendCell(_ cell: String, to out: inout [UInt8]) {
        var cell = cell
        cell.withUTF8 { bytes in
            let needsQuotes = bytes.contains {
                $0 == ASCIIByte.comma || $0 == ASCIIByte.quote || $0 == ASCIIByte.lineFeed
                    || $0 == ASCIIByte.carriageReturn
            }
            guard needsQuotes else {
                out.append(contentsOf: bytes)
                return
            }
            out.append(ASCIIByte.quote)
            for byte in bytes {
                if byte == ASCIIByte.quote { out.append(ASCIIByte.quote) }
                out.append(byte)
            }
            out.append(ASCIIByte.quote)
        }
    }
}
