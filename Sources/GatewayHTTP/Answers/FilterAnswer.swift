import NIOCore
import OptOutMirror
import OptOuts
import SENSCore

/// The filter's answers, written as bytes: a million recipients through the generic encoder would cost more than
/// the filtering. Opted-out recipients' records are written by `OptOutEncoder`; the tests decode the answers
/// with the generated types, so they cannot drift from `openapi.yaml`.
enum FilterAnswer {
    /// `FilterResult` as compact JSON, keys sorted as the gateway's encoder sorts them.
    static func json(_ filter: RecipientFilter, asOf: Int64, utcOffsetSeconds: Int) -> ByteBuffer {
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
        return .written(
            capacity: 80 + RFC3339.maxBytes + RawJSONWriter.integerBytes + invalidBytes + optedOutBytes
                + unverifiedBytes
        ) { out in
            out.append(#"{"asOf":""#)
            out.appendTime(asOf, utcOffsetSeconds: utcOffsetSeconds)
            out.append(#"","checked":"#)
            out.appendInteger(filter.checked)
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
    static func csv(_ filter: RecipientFilter) -> ByteBuffer {
        .written(capacity: filter.allowed.reduce(0) { $0 + $1.digitCount + 1 }) { out in
            for key in filter.allowed {
                out.appendPlain(key.digits)
                out.append(byte: UInt8(ascii: "\n"))
            }
        }
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
