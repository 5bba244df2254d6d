import NIOCore
import OptOutMirror
import OptOuts
import SENSCore

/// The filter's answers, written as bytes: a million recipients through the generic encoder would cost more than
/// the filtering. Opted-out recipients' records are written by `OptOutEncoder`; the tests decode the answers
/// with the generated types, so they cannot drift from `openapi.yaml`.
enum FilterAnswer {
    /// `FilterResult` as compact JSON, keys sorted as the gateway's encoder sorts them.
    static func json(
        _ filter: RecipientFilter,
        header: FilterHeader?,
        asOf: Int64,
        utcOffsetSeconds: Int
    ) -> ByteBuffer {
        let numberBytes = 2 * RawJSONWriter.integerBytes
        let invalidBytes = filter.invalid.reduce(0) {
            $0 + 64 + numberBytes + $1.error.code.utf8.count + RawJSONWriter.bound(escaping: echoed($1.recipient.input))
                + RawJSONWriter.bound(escaping: $1.error.reason)
        }
        let optedOutBytes = filter.optedOut.reduce(0) {
            $0 + 96 + numberBytes + $1.record.key.digitCount + RFC3339.maxBytes
                + RawJSONWriter.bound(escaping: echoed($1.recipient.input))
        }
        let unverifiedBytes = filter.unverified.reduce(0) {
            $0 + 64 + numberBytes + $1.key.digitCount + RawJSONWriter.bound(escaping: echoed($1.recipient.input))
                + RawJSONWriter.bound(escaping: unverifiedReason)
        }
        let repairedBytes = filter.repaired.reduce(0) {
            $0 + 64 + numberBytes + $1.key.digitCount + RawJSONWriter.bound(escaping: echoed($1.recipient.input))
        }
        let headerBytes = (header?.cells ?? []).reduce(48 + RawJSONWriter.integerBytes) {
            $0 + 1 + RawJSONWriter.bound(escaping: $1)
        }
        return .written(
            capacity: 100 + RFC3339.maxBytes + RawJSONWriter.integerBytes + invalidBytes + optedOutBytes
                + unverifiedBytes + repairedBytes + headerBytes
        ) { out in
            out.append(#"{"asOf":""#)
            out.appendTime(asOf, utcOffsetSeconds: utcOffsetSeconds)
            out.append(#"","checked":"#)
            out.appendInteger(filter.checked)
            if let header {
                out.append(#","header":{"cells":["#)
                for (position, cell) in header.cells.enumerated() {
                    if position > 0 { out.append(",") }
                    out.appendString(cell)
                }
                out.append(#"],"line":"#)
                out.appendInteger(header.line)
                out.append("}")
            }
            out.append(#","invalid":["#)
            for (position, item) in filter.invalid.enumerated() {
                out.append(position > 0 ? #",{"code":""# : #"{"code":""#)
                out.appendPlain(item.error.code)
                out.append(#"","index":"#)
                out.appendInteger(item.recipient.index)
                out.append(#","input":"#)
                out.appendString(echoed(item.recipient.input))
                appendLine(item.recipient.line, to: &out)
                out.append(#","reason":"#)
                out.appendString(item.error.reason)
                out.append("}")
            }
            out.append(#"],"optedOut":["#)
            for (position, item) in filter.optedOut.enumerated() {
                appendRecipient(item.recipient, number: item.record.key, first: position == 0, to: &out)
                out.append(#"""#)
                OptOutEncoder.writeRecordTail(
                    item.record.registeredAtMilliseconds,
                    item.record.source,
                    utcOffsetSeconds: utcOffsetSeconds,
                    to: &out
                )
            }
            if filter.options.repairLeadingZero {
                out.append(#"],"repaired":["#)
                for (position, item) in filter.repaired.enumerated() {
                    appendRecipient(item.recipient, number: item.key, first: position == 0, to: &out)
                    out.append(#""}"#)
                }
            }
            out.append(#"],"unverified":["#)
            for (position, item) in filter.unverified.enumerated() {
                appendRecipient(item.recipient, number: item.key, first: position == 0, to: &out)
                out.append(#"","reason":"#)
                out.appendString(unverifiedReason)
                out.append("}")
            }
            out.append("]}")
        }
    }

    /// The allowed recipients, normalized, one a line (LF), in input order.
    static func numbers(_ filter: RecipientFilter) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(filter.allowed.reduce(0) { $0 + $1.digitCount + 1 })
        for key in filter.allowed {
            out.append(contentsOf: key.digits.utf8)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// A CSV answer written in CP949 instead of UTF-8 (what Excel on Korean Windows opens), or why it cannot be:
    /// a cell holds a character CP949 has not.
    static func cp949(_ pieces: [[UInt8]]) -> Result<[UInt8], FilterPlan.Refusal> {
        guard let converter = Iconv(from: "UTF-8", to: TextCharset.cp949.iconvName) else {
            return .failure(.init(status: 406, detail: "this system's C library cannot convert to CP949 (iconv)"))
        }
        var out: [UInt8] = []
        out.reserveCapacity(pieces.reduce(0) { $0 + $1.count })
        var linesBefore = 0
        for (position, utf8) in pieces.enumerated() {
            let (consumed, stop) = utf8.withUnsafeBytes { converter.convert($0, into: &out) }
            guard stop == .done else {
                let line = 1 + linesBefore + utf8[..<consumed].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
                return .failure(
                    .init(
                        status: 406,
                        detail: "line \(line) of the answer (not of the body: rows left out are not in it) holds a "
                            + "character CP949 cannot hold; ask for charset=utf-8"
                    )
                )
            }
            if position < pieces.count - 1 { linesBefore += utf8.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) } }
        }
        return .success(out)
    }

    /// Why a recipient is listed as unverified.
    static let unverifiedReason =
        "the number's opt-out state is in doubt (two writes of it overlapped, or a register's answer was lost): the gateway is asking SENS; do not send to it until a later filter clears it"

    /// An input as the answer repeats it: cut to the parser's bound, as the write operations' 422 does (counting
    /// characters only when the bytes could be too many).
    static func echoed(_ input: String) -> String {
        guard input.utf8.count > PhoneNumber.maxInputCharacters, input.count > PhoneNumber.maxInputCharacters else {
            return input
        }
        return input.prefix(PhoneNumber.maxInputCharacters) + "…"
    }

    /// `{"index":…,"input":…,["line":…,]"phoneNumber":"…` of an opted-out or unverified recipient (the phone
    /// number's closing quote is the caller's), preceded by a comma unless `first`.
    private static func appendRecipient(
        _ recipient: FilterRecipient,
        number: PhoneKey,
        first: Bool,
        to out: inout RawJSONWriter
    ) {
        out.append(first ? #"{"index":"# : #",{"index":"#)
        out.appendInteger(recipient.index)
        out.append(#","input":"#)
        out.appendString(echoed(recipient.input))
        appendLine(recipient.line, to: &out)
        out.append(#","phoneNumber":""#)
        out.appendPlain(number.digits)
    }

    private static func appendLine(_ line: Int?, to out: inout RawJSONWriter) {
        guard let line else { return }
        out.append(#","line":"#)
        out.appendInteger(line)
    }
}
