import HTTPTypes
import Hummingbird
import NIOCore
import OptOutMirror
import OptOuts
import SENSCore

/// The 200 answers of the hot operations, written as bytes: the check, the list page, the change feed and the
/// writes. Byte for byte what the generated serializer writes for the same values (compact, keys sorted), which
/// `HotAnswerTests` holds them to, decoding each with the generated types; the generic encoder cost a list page
/// about 175 µs and a register of 10,000 about 17 ms (Benchmarks/README.md, "Hot paths").
struct OptOutAnswers {
    let utcOffsetSeconds: Int

    /// The most bytes one `OptOut` object takes, its number apart.
    private static let optOutBytes = 64 + RFC3339.maxBytes

    /// `OptOutStatus`.
    func status(digits: String, _ found: OptOut?) -> ByteBuffer {
        .written(capacity: 64 + Self.optOutBytes + RawJSONWriter.bound(escaping: digits)) { out in
            out.append(found == nil ? #"{"optedOut":false,"phoneNumber":"# : #"{"optedOut":true,"phoneNumber":"#)
            out.appendString(digits)
            if let found { writeRecordTail(found, to: &out) } else { out.append("}") }
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
        .written(capacity: 32 + RawJSONWriter.integerBytes + Self.optOutsBytes(outcome.registered)) { out in
            out.append(#"{"count":"#)
            out.appendInteger(outcome.done.count)
            out.append(#","registered":["#)
            writeOptOuts(outcome.registered, to: &out)
            out.append("]}")
        }
    }

    /// `RemoveResult`.
    func removed(_ outcome: WriteOutcome) -> ByteBuffer {
        let numbers = outcome.done.reduce(0) { $0 + 1 + RawJSONWriter.bound(escaping: $1) }
        return .written(capacity: 32 + RawJSONWriter.integerBytes + numbers) { out in
            out.append(#"{"count":"#)
            out.appendInteger(outcome.done.count)
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
        let bytes = page.changes.reduce(0) { $0 + fixed + $1.key.digitCount + ($1.national.map { 16 + $0.digitCount } ?? 0) }
        return .written(capacity: 32 + bytes + RawJSONWriter.bound(escaping: page.next)) { out in
            out.append(#"{"changes":["#)
            for (position, change) in page.changes.enumerated() {
                if position > 0 { out.append(",") }
                out.append(change.kind == .added ? #"{"change":"added","cursor":""# : #"{"change":"removed","cursor":""#)
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
            writeRecordTail(item, to: &out)
        }
    }

    /// `,"registeredAt":"…","source":"…"}`, closing the object.
    private func writeRecordTail(_ record: OptOut, to out: inout RawJSONWriter) {
        out.append(#","registeredAt":""#)
        out.appendTime(record.registeredAtMilliseconds, utcOffsetSeconds: utcOffsetSeconds)
        out.append(record.source == .ars ? #"","source":"ars"}"# : #"","source":"manual"}"#)
    }
}

extension Response {
    /// A 200 `application/json` answer of the given bytes (`Content-Length` follows from them), with any extra
    /// headers.
    static func json(_ body: ByteBuffer, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: body))
    }

    /// The answer to a read the source could not answer, as the generated path gives it (`ReadOutput.failure`).
    static func readFailure(_ error: OptOutError) -> Response {
        var response = Response.problem(Problems.upstream(error))
        response.setRetryAfter(for: error)
        return response
    }

    /// `Retry-After` as the generated outputs give it: always for 429, when known for 503.
    mutating func setRetryAfter(for error: OptOutError) {
        switch error.kind {
        case .throttled: headers[.retryAfter] = String(error.throttledRetryAfter)
        case .unavailable: if let seconds = error.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
        case .timedOut, .refused, .credentialsRefused, .failed: break
        }
    }
}

/// A generated handler's 200, written as bytes: thrown past the generated serializer (which would encode the
/// same values again) and returned as it is by `ProblemMiddleware`.
struct AnsweredAsBytes: Error {
    let response: Response
}
