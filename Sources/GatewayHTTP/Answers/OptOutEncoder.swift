import HTTPTypes
import Hummingbird
import NIOCore
import OptOutMirror
import OptOuts
import SENSCore

/// The one encoder of opt-outs: the check, the list page, the change feed, the writes' answers and the filter's
/// opted-out recipients, written as bytes straight into reserved memory (compact JSON, keys sorted). The tests
/// decode every answer with the generated client, so the bytes cannot drift from `openapi.yaml`.
struct OptOutEncoder {
    let utcOffsetSeconds: Int

    /// The most bytes one `OptOut` object takes, its number apart.
    private static let optOutBytes = 64 + RFC3339.maxBytes

    /// `OptOutStatus`.
    func status(digits: String, _ found: OptOut?) -> ByteBuffer {
        .written(capacity: 64 + Self.optOutBytes + RawJSONWriter.bound(escaping: digits)) { out in
            out.append(found == nil ? #"{"optedOut":false,"phoneNumber":"# : #"{"optedOut":true,"phoneNumber":"#)
            out.appendString(digits)
            if let found {
                Self.writeRecordTail(
                    found.registeredAtMilliseconds,
                    found.source,
                    utcOffsetSeconds: utcOffsetSeconds,
                    to: &out
                )
            } else {
                out.append("}")
            }
        }
    }

    /// `OptOutPage`.
    func page(_ items: [OptOut], _ query: OptOutQuery) -> ByteBuffer {
        .written(capacity: 64 + 3 * RawJSONWriter.integerBytes + Self.optOutsBytes(items)) { out in
            out.append(#"{"items":["#)
            writeOptOuts(items, to: &out)
            out.append("]")
            if items.count >= query.pageSize {
                out.append(#","nextPage":"#)
                out.appendInteger(query.page + 1)
            }
            out.append(#","page":"#)
            out.appendInteger(query.page)
            out.append(#","pageSize":"#)
            out.appendInteger(query.pageSize)
            out.append("}")
        }
    }

    /// `RegisterResult`.
    func registered(_ outcome: WriteOutcome) -> ByteBuffer {
        let capacity =
            32 + RawJSONWriter.integerBytes + Self.optOutsBytes(outcome.registered) + Self.mirrorNoteBytes(outcome)
        return .written(capacity: capacity) { out in
            out.append(#"{"count":"#)
            out.appendInteger(outcome.done.count)
            Self.writeMirrorNote(outcome, to: &out)
            out.append(#","registered":["#)
            writeOptOuts(outcome.registered, to: &out)
            out.append("]}")
        }
    }

    /// `,"mirrorNote":"…"` when the mirror could not record the write.
    private static func writeMirrorNote(_ outcome: WriteOutcome, to out: inout RawJSONWriter) {
        guard let note = outcome.mirrorNote else { return }
        out.append(#","mirrorNote":"#)
        out.appendString(note)
    }

    private static func mirrorNoteBytes(_ outcome: WriteOutcome) -> Int {
        outcome.mirrorNote.map { 16 + RawJSONWriter.bound(escaping: $0) } ?? 0
    }

    /// `RemoveResult`.
    func removed(_ outcome: WriteOutcome) -> ByteBuffer {
        let numbers = outcome.done.reduce(0) { $0 + 1 + RawJSONWriter.bound(escaping: $1) }
        return .written(capacity: 32 + RawJSONWriter.integerBytes + numbers + Self.mirrorNoteBytes(outcome)) { out in
            out.append(#"{"count":"#)
            out.appendInteger(outcome.done.count)
            Self.writeMirrorNote(outcome, to: &out)
            out.append(#","removed":["#)
            for (position, number) in outcome.done.enumerated() {
                if position > 0 { out.append(",") }
                out.appendString(number)
            }
            out.append("]}")
        }
    }

    /// `ChangePage`.
    func changes(_ page: ChangeFeedPage) -> ByteBuffer {
        // A cursor is at most 14 base-36 characters (a sign and 13 digits), a dot and 8 hex digits. A number's
        // digits are counted as stored: a damaged store may hold a key of up to 255.
        let fixed = 128 + 2 * RFC3339.maxBytes + 24
        let bytes = page.changes.reduce(0) {
            $0 + fixed + $1.key.digitCount + ($1.national.map { 16 + $0.digitCount } ?? 0)
        }
        return .written(capacity: 32 + bytes + RawJSONWriter.bound(escaping: page.next)) { out in
            out.append(#"{"changes":["#)
            for (position, change) in page.changes.enumerated() {
                if position > 0 { out.append(",") }
                out.append(
                    change.kind == .added ? #"{"change":"added","cursor":""# : #"{"change":"removed","cursor":""#
                )
                out.appendPlain(ChangeCursor.text(change.sequence, scope: page.scope))
                out.append(#"","observedAt":""#)
                out.appendTime(change.observedAtMilliseconds, utcOffsetSeconds: utcOffsetSeconds)
                out.append(#"","phoneNumber":""#)
                out.appendPlain(change.phoneNumber.digits)
                out.append(#"""#)
                if let registeredAt = change.registeredAtMilliseconds {
                    out.append(#","registeredAt":""#)
                    out.appendTime(registeredAt, utcOffsetSeconds: utcOffsetSeconds)
                    out.append(#"""#)
                }
                if change.national != nil {
                    out.append(#","sensNumber":""#)
                    out.appendPlain(change.key.digits)
                    out.append(#"""#)
                }
                if let source = change.source {
                    out.append(source == .ars ? #","source":"ars""# : #","source":"manual""#)
                }
                out.append("}")
            }
            out.append(#"],"next":"#)
            out.appendString(page.next)
            out.append("}")
        }
    }

    private static func optOutsBytes(_ items: [OptOut]) -> Int {
        items.reduce(0) { $0 + 1 + optOutBytes + RawJSONWriter.bound(escaping: $1.phoneNumber) }
    }

    /// `OptOut` items, comma-separated.
    private func writeOptOuts(_ items: [OptOut], to out: inout RawJSONWriter) {
        for (position, item) in items.enumerated() {
            out.append(position > 0 ? #",{"phoneNumber":"# : #"{"phoneNumber":"#)
            out.appendString(item.phoneNumber)
            Self.writeRecordTail(
                item.registeredAtMilliseconds,
                item.source,
                utcOffsetSeconds: utcOffsetSeconds,
                to: &out
            )
        }
    }

    /// `,"registeredAt":"…","source":"…"}` of an opt-out, closing its object: every answer that holds an opt-out
    /// writes its record here.
    static func writeRecordTail(
        _ registeredAtMilliseconds: Int64,
        _ source: OptOutSource,
        utcOffsetSeconds: Int,
        to out: inout RawJSONWriter
    ) {
        out.append(#","registeredAt":""#)
        out.appendTime(registeredAtMilliseconds, utcOffsetSeconds: utcOffsetSeconds)
        out.append(source == .ars ? #"","source":"ars"}"# : #"","source":"manual"}"#)
    }
}
