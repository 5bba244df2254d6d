import NIOCore
import OptOutMirror
import OptOuts
import SENSCore

/// The filter's answers, written as bytes: a million recipients through the generic encoder would cost more than
/// the filtering. `FilterAnswerTests` decodes them with the generated `FilterResult` type, so they cannot drift
/// from `openapi.yaml`.
enum FilterAnswer {
    /// `FilterResult` as compact JSON, keys sorted as the gateway's encoder sorts them.
    static func json(_ filter: RecipientFilter, asOf: Int64, utcOffsetSeconds: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 64 + filter.invalid.count * 140 + filter.optedOut.count * 160)
        out.writeStaticString(#"{"asOf":""#)
        out.writeString(RFC3339.format(epochMilliseconds: asOf, utcOffsetSeconds: utcOffsetSeconds))
        out.writeStaticString(#"","checked":"#)
        out.writeString(String(filter.checked))
        out.writeStaticString(#","invalid":["#)
        for (position, item) in filter.invalid.enumerated() {
            if position > 0 { out.writeStaticString(",") }
            out.writeStaticString(#"{"code":""#)
            out.writeString(item.error.code)
            out.writeStaticString(#"","index":"#)
            out.writeString(String(item.recipient.index))
            out.writeStaticString(#","input":"#)
            writeJSONString(echoed(item.recipient.input), to: &out)
            writeLine(item.recipient.line, to: &out)
            out.writeStaticString(#","reason":"#)
            writeJSONString(item.error.reason, to: &out)
            out.writeStaticString("}")
        }
        out.writeStaticString(#"],"optedOut":["#)
        for (position, item) in filter.optedOut.enumerated() {
            if position > 0 { out.writeStaticString(",") }
            out.writeStaticString(#"{"index":"#)
            out.writeString(String(item.recipient.index))
            out.writeStaticString(#","input":"#)
            writeJSONString(echoed(item.recipient.input), to: &out)
            writeLine(item.recipient.line, to: &out)
            out.writeStaticString(#","phoneNumber":""#)
            out.writeString(item.record.key.digits)
            out.writeStaticString(#"","registeredAt":""#)
            writeTime(item.record.registeredAtMilliseconds, utcOffsetSeconds: utcOffsetSeconds, to: &out)
            out.writeStaticString(item.record.source == .ars ? #"","source":"ars"}"# : #"","source":"manual"}"#)
        }
        out.writeStaticString("]}")
        return out
    }

    /// The allowed recipients, normalized, one a line (LF), in input order.
    static func csv(_ filter: RecipientFilter, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: filter.allowed.count * 12)
        for key in filter.allowed {
            out.writeString(key.digits)
            out.writeInteger(UInt8(ascii: "\n"))
        }
        return out
    }

    /// An input as the answer repeats it: cut to the parser's bound, as the write operations' 422 does (counting
    /// characters only when the bytes could be too many).
    static func echoed(_ input: String) -> String {
        guard input.utf8.count > PhoneNumber.maxInputCharacters, input.count > PhoneNumber.maxInputCharacters else { return input }
        return input.prefix(PhoneNumber.maxInputCharacters) + "…"
    }

    /// An RFC 3339 time straight into the answer.
    private static func writeTime(_ milliseconds: Int64, utcOffsetSeconds: Int, to out: inout ByteBuffer) {
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: RFC3339.maxBytes) { raw in
            RFC3339.write(epochMilliseconds: milliseconds, utcOffsetSeconds: utcOffsetSeconds,
                          into: raw.bindMemory(to: UInt8.self))
        }
    }

    private static func writeLine(_ line: Int?, to out: inout ByteBuffer) {
        guard let line else { return }
        out.writeStaticString(#","line":"#)
        out.writeString(String(line))
    }

    /// A JSON string: quotes, backslashes and control characters escaped, everything else as UTF-8.
    static func writeJSONString(_ text: String, to out: inout ByteBuffer) {
        out.writeInteger(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for (position, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                out.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start..<position]))
                switch byte {
                case UInt8(ascii: "\""): out.writeStaticString(#"\""#)
                case UInt8(ascii: "\\"): out.writeStaticString(#"\\"#)
                case 0x0A: out.writeStaticString(#"\n"#)
                case 0x0D: out.writeStaticString(#"\r"#)
                case 0x09: out.writeStaticString(#"\t"#)
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    out.writeStaticString(#"\u00"#)
                    out.writeInteger(hex[Int(byte >> 4)])
                    out.writeInteger(hex[Int(byte & 0xF)])
                }
                start = position + 1
            }
            out.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start...]))
        }
        out.writeInteger(UInt8(ascii: "\""))
    }
}
